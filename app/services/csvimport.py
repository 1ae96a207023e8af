"""Reading CSV uploads: UTF-8 with or without BOM, a header row, every bad row named."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line in the file, the header being line 1
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """Nothing was written: every bad row is listed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def read_rows(data: bytes | str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Parse a CSV file into (line, row) pairs; raise ImportRejected on a bad header."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected([RowError(1, "the file is not UTF-8")]) from exc
    else:
        text = data.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImportRejected([RowError(1, f"missing columns: {', '.join(missing)}")])
    rows = []
    for row in reader:
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        rows.append((reader.line_num, values))
    if not rows:
        raise ImportRejected([RowError(1, "the file has no rows")])
    return rows
