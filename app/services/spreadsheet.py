"""The one guard for text cells of every CSV and XLSX the app writes (formula injection), and
the one CSV writer (UTF-8 with BOM, or CP932 for Excel on a Japanese Windows PC)."""

from __future__ import annotations

import csv
import io
import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal, TypeVar

from app.i18n import _
from app.services.errors import InvalidInput

# Spreadsheet programs run a text cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")

# The encodings of a CSV download (`?encoding=`): UTF-8 with a BOM by default; CP932 is
# Windows' Shift_JIS (with the NEC/IBM extensions such as ①, ㈱ and 髙).
CsvEncoding = Literal["utf-8", "cp932"]
CSV_MEDIA_TYPES: dict[str, str] = {
    "utf-8": "text/csv; charset=utf-8",
    "cp932": "text/csv; charset=Shift_JIS",
}


def safe_cell(value: T) -> T | str:
    """Text a spreadsheet would run as a formula, with a leading apostrophe; anything else as is.

    The first character is NFKC-folded before the check: Excel and LibreOffice also take
    full-width ＝ ＋ － ＠ (and the small forms ﹦ ﹢ ﹣ ﹫) as the start of a formula.
    """
    if isinstance(value, str) and unicodedata.normalize("NFKC", value[:1]).startswith(
        FORMULA_START
    ):
        return "'" + value
    return value


def csv_bytes(
    header: Sequence[object], rows: Iterable[Sequence[object]], encoding: CsvEncoding = "utf-8"
) -> bytes:
    """CSV for Excel: UTF-8 with a BOM (or CP932 without one), CRLF line ends, every text cell
    through `safe_cell`, None as an empty cell.

    A character CP932 cannot hold (an emoji, 𠮷) is never written as `?`: InvalidInput (422)
    names it and its row (the header being row 1), so the user can download UTF-8 instead.
    Python's cp932 codec does write the look-alikes that Shift_JIS and CP932 map differently
    (〜 U+301C as ～, − U+2212 as －): the same glyph in Excel, nothing lost.
    """
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    if encoding == "utf-8":
        for row in itertools.chain([header], rows):
            writer.writerow(_cells(row))
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    out = bytearray()
    for number, row in enumerate(itertools.chain([header], rows), start=1):
        cells = _cells(row)
        writer.writerow(cells)
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        try:
            out += text.encode("cp932")
        except UnicodeEncodeError as exc:
            raise _not_in_cp932(text[exc.start], number) from exc
    return bytes(out)


def _cells(row: Sequence[object]) -> list[object]:
    return ["" if v is None else safe_cell(v) for v in row]


def _not_in_cp932(char: str, row: int) -> InvalidInput:
    code = f"U+{ord(char):04X}"
    return InvalidInput(
        [
            {
                "loc": ["query", "encoding"],
                "msg": _(
                    "Row %(row)s has the character “%(char)s” (%(code)s), which Shift_JIS "
                    "(CP932) cannot hold. Download the file as UTF-8 instead."
                )
                % {"row": row, "char": char, "code": code},
                "type": "unencodable",
                "ctx": {"row": row, "character": char, "codepoint": code},
            }
        ]
    )
