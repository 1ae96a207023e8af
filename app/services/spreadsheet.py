"""The one guard for text cells of every CSV and XLSX the app writes (formula injection)."""

from __future__ import annotations

import unicodedata
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
