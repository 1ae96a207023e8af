"""The one guard for text cells of every CSV and XLSX the app writes (formula injection), and
the one CSV writer."""

from __future__ import annotations

import csv
import io
import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TypeVar

# Spreadsheet programs run a text cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


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


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV for Excel: UTF-8 with a BOM, CRLF line ends, every text cell through `safe_cell`,
    None as an empty cell."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in itertools.chain([header], rows):
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
