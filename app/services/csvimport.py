"""Reading CSV uploads (UTF-8 with or without BOM, or CP932/Shift_JIS; a header row) and the
report of a check: every bad row named with its line and reason, and what the import would
create."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import _
from app.labels import csv_column
from app.services.errors import DomainError, InvalidInput


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line in the file, the header being line 1
    message: str
    code: str = ""  # the row's `code` value, where the file has one (for reports)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What a check of a file found; the import writes `rows` only when there are no errors.

    `rows` previews what would be created (one dict per good row, with its `line`); `created`
    is how many rows an import wrote (0 for a dry run and for a refused import).
    """

    rows_read: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})


class ImportRejected(DomainError):
    """Nothing was written: every bad row is listed (and `report` has the whole check); 422."""

    status_code = 422

    def __init__(self, errors: list[RowError], report: ImportReport | None = None) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
        self.report = report if report is not None else ImportReport(errors=list(errors))


@dataclass
class Table:
    """A parsed file: (line, row) pairs and the rows that cannot be used at all."""

    rows: list[tuple[int, dict[str, str]]]
    errors: list[RowError]


# The encodings an import reads: "auto" tries strict UTF-8 (a BOM or none), then strict CP932.
# CP932 is Windows' Shift_JIS, what Excel writes for "CSV (comma delimited)" on a Japanese PC:
# it holds NEC/IBM extensions (①, ㈱, 髙) that plain Shift_JIS (JIS X 0208) does not.
ENCODINGS = ("auto", "utf-8", "cp932")
Encoding = Literal["auto", "utf-8", "cp932"]
_ALIASES = {
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "shift-jis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
}


def encoding_of(name: str | None) -> Encoding:
    """The import encoding a form, query or command line names ("" or None: auto); aliases
    such as Shift_JIS are CP932. An unknown name is InvalidInput."""
    key = (name or "auto").strip().lower()
    key = _ALIASES.get(key, key)
    if key == "auto":
        return "auto"
    if key == "utf-8":
        return "utf-8"
    if key == "cp932":
        return "cp932"
    raise InvalidInput.field(
        "encoding",
        _("Choose the file's encoding: auto, UTF-8 or Shift_JIS (CP932)."),
        "literal_error",
    )


# Python's cp932 reads bytes no Japanese text has: 0x80, 0xA0 and 0xFD–0xFF as single
# characters and the user-defined area (lead bytes 0xF0–0xF9) as private-use characters. A
# file with any of them is taken as not CP932: it is far more likely another encoding.
_NOT_TEXT = re.compile("[\x80\ue000-\uf8ff]")


def _strict(data: bytes, codec: str) -> tuple[str | None, int]:
    """The text, or None and the 1-based line of the first byte the codec cannot read."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        return None, data[: exc.start].count(b"\n") + 1
    odd = _NOT_TEXT.search(text) if codec == "cp932" else None
    if odd is not None:
        return None, text.count("\n", 0, odd.start()) + 1
    return text, 0


def decode_csv(data: bytes | str, encoding: str = "auto") -> str:
    """The text of an uploaded file in the chosen encoding (see ENCODINGS), without a BOM.

    A file that cannot be read raises ImportRejected naming the first line that cannot be
    decoded (for "auto", the later of the two lines: the encoding that read further is the one
    the file was most likely meant to be in)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    chosen = encoding_of(encoding)
    if chosen != "cp932":
        text, utf8_line = _strict(data, "utf-8-sig")
        if text is not None:
            return text
        if chosen == "utf-8":
            raise ImportRejected(
                [
                    RowError(
                        utf8_line,
                        _(
                            "the file is not UTF-8 (in Excel, save it as “CSV UTF-8 (comma "
                            "delimited)”, or choose Shift_JIS)"
                        ),
                    )
                ]
            )
    text, sjis_line = _strict(data, "cp932")
    if text is not None:
        return text.removeprefix("\ufeff")
    if chosen == "cp932":
        message = _("the file is not Shift_JIS (CP932): this line cannot be read")
        line = sjis_line
    else:
        message = _(
            "the file is neither UTF-8 nor Shift_JIS (CP932): this line cannot be read (in "
            "Excel, save it as “CSV UTF-8 (comma delimited)”)"
        )
        line = max(utf8_line, sjis_line)
    raise ImportRejected([RowError(line, message)])


def _has_control_chars(value: str, multiline: bool) -> bool:
    allowed = "\r\n\t" if multiline else ""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def read_table(
    data: bytes | str,
    columns: tuple[str, ...],
    *,
    multiline: bool = False,
    column: Callable[[str], str] = csv_column,
    encoding: str = "auto",
    optional: tuple[str, ...] = (),
) -> Table:
    """Parse a CSV file into (line, row) pairs, `line` being where the row starts.

    Bytes are decoded by `decode_csv` (UTF-8 or CP932, see there). A file that cannot be read
    at all (in neither encoding, empty, missing columns, broken quoting such
    as a quote never closed) raises ImportRejected naming the line; a row that cannot be used
    (not exactly as many values as the header has columns, control characters; line breaks
    only where `multiline`) is reported in `errors` and left out of `rows`: a short row would
    otherwise be read with its last columns empty (a unit without a parent, say). Header names
    are matched without case or surrounding spaces; extra columns are ignored; blank lines
    are skipped. `column` names a column in a reason (labels.csv_column: label and header).
    `optional` columns may be left out of the file: their value is then "".
    """
    text = decode_csv(data, encoding)
    if not text.strip():
        raise ImportRejected([RowError(1, _("the file is empty"))])
    # strict: a quote left open is an error, not the rest of the file read into one value.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    line = 1  # where the row being read starts
    try:
        header = [h.strip().lower() for h in next(reader)]
        missing = [c for c in columns if c not in header]
        if missing:
            raise ImportRejected(
                [
                    RowError(
                        1,
                        _("missing columns: %(columns)s")
                        % {"columns": ", ".join(map(column, missing))},
                    )
                ]
            )
        twice = sorted({c for c in (*columns, *optional) if header.count(c) > 1})
        if twice:
            raise ImportRejected(
                [
                    RowError(
                        1,
                        _("columns named twice: %(columns)s")
                        % {"columns": ", ".join(map(column, twice))},
                    )
                ]
            )
        index = {c: header.index(c) for c in (*columns, *optional) if c in header}
        line = reader.line_num + 1
        for values in reader:
            start, line = line, reader.line_num + 1
            cells = [v.strip() for v in values]
            if not any(cells):
                continue
            row = {c: "" for c in optional}
            row.update({c: cells[i] if i < len(cells) else "" for c, i in index.items()})
            if len(cells) != len(header):
                problem = _shape_problem(len(cells), len(header))
                errors.append(RowError(start, problem, row.get("code", "")))
            elif any(_has_control_chars(v, multiline) for v in row.values()):
                errors.append(
                    RowError(
                        start,
                        _("a value contains a line break or control character"),
                        row.get("code", ""),
                    )
                )
            else:
                rows.append((start, row))
    except csv.Error as exc:
        # At `line` starts the row being read: where an unclosed quote opened.
        raise ImportRejected([RowError(line, _quote_problem(exc))]) from exc
    if not rows and not errors:
        raise ImportRejected([RowError(1, _("the file has no rows below the header"))])
    return Table(rows, errors)


def _shape_problem(values: int, columns: int) -> str:
    if values > columns:
        return _(
            "the row has %(values)s values but the header has %(columns)s columns (a value "
            "with a comma needs double quotes)"
        ) % {"values": values, "columns": columns}
    return _(
        "the row has %(values)s values but the header has %(columns)s columns (a value is "
        "missing: leave it empty between two commas)"
    ) % {"values": values, "columns": columns}


def _quote_problem(exc: csv.Error) -> str:
    problem = str(exc)
    if problem == "unexpected end of data":
        return _(
            "a double quote opens a value that is never closed (the rest of the file was read "
            "into it)"
        )
    if problem.startswith("',' expected after"):
        return _(
            "a quoted value goes on after its closing double quote (inside a quoted value, "
            'write a double quote as "")'
        )
    return _("the file cannot be read as CSV (%(problem)s)") % {"problem": problem}


def read_rows(
    data: bytes | str, columns: tuple[str, ...], *, multiline: bool = True, encoding: str = "auto"
) -> list[tuple[int, dict[str, str]]]:
    """Parse a CSV file into (line, row) pairs; raise ImportRejected on a file or row that
    cannot be read (see read_table; quoted values may span lines unless told otherwise)."""
    table = read_table(data, columns, multiline=multiline, encoding=encoding)
    if table.errors:
        raise ImportRejected(table.errors)
    return table.rows


def by_line(errors: Iterable[RowError]) -> list[RowError]:
    """Errors in file order, each reason once."""
    return sorted(dict.fromkeys(errors), key=lambda e: e.line)


async def write_or_refuse(
    db: AsyncSession,
    write: Callable[[], Awaitable[None]],
    recheck: Callable[[], Awaitable[ImportReport]],
) -> None:
    """Run an import's writes and commit them together; if the database refuses a row (another
    request created the same code since the check), roll everything back and answer with a
    fresh check, so that the caller sees why instead of a server error."""
    try:
        await write()
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        again = await recheck()
        errors = again.errors or [
            RowError(
                1,
                _("the data changed during the import; nothing was imported, check the file again"),
            )
        ]
        raise ImportRejected(errors, again) from exc
