"""The fixed-shape kinds of personal data (phone, e-mail, postal code, policy number), and
the length-preserving width fold every detector matches on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from itertools import chain
from typing import Final

PHONE: Final = "phone"
EMAIL: Final = "email"
POSTAL_CODE: Final = "postal_code"
POLICY_NUMBER: Final = "policy_number"
CUSTOMER_NAME: Final = "customer_name"


# --------------------------------------------------------------------------
# Width folding (length-preserving)
# --------------------------------------------------------------------------


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    blocks = chain(
        range(0xFF01, 0xFF5F),  # full-width ASCII: ０-９ Ａ-Ｚ ａ-ｚ ＠ － （ ） ： ．
        range(0xFF61, 0xFFA0),  # half-width katakana and punctuation: ﾔﾏﾀﾞ ｰ ｢ ｣
        range(0xFFE0, 0xFFE7),  # full-width signs: ￥ ￡
        range(0xFE50, 0xFE6C),  # small form variants: ﹫ ﹣
    )
    for code_point in blocks:
        folded = unicodedata.normalize("NFKC", chr(code_point))
        if len(folded) == 1:  # one-for-one only, so offsets stay valid
            table[code_point] = folded
    table.update(
        {
            0x3000: " ",  # ideographic (full-width) space
            0x00A0: " ",  # no-break space
            0x2010: "-",  # hyphen
            0x2011: "-",  # non-breaking hyphen
            0x2212: "-",  # minus sign
        }
    )
    return table


_FOLD_TABLE: Final = _build_fold_table()

# Dash-like characters that people (and IMEs) type between the digit groups of
# phone numbers and postal codes.  ー / ｰ is the katakana prolonged sound mark,
# so these are only folded to "-" when both neighbours are digits.
_DASH_BETWEEN_DIGITS_RE: Final = re.compile(
    r"(?<=[0-9])[\u2012\u2013\u2014\u2015\u2043\u2500\u30FC\uFE58](?=[0-9])"
)


def fold(text: str) -> str:
    """Return a copy of *text* of the same length, suitable for matching."""
    folded = _DASH_BETWEEN_DIGITS_RE.sub("-", text.translate(_FOLD_TABLE))
    assert len(folded) == len(text)  # every regex offset relies on this
    return folded


# --------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------

SP: Final = r"[ \t]"
# Between digit groups: one hyphen (optionally with a space either side) or one
# space.  Commas, slashes and dots are deliberately not separators: they are
# how amounts (10,000) and dates (2024/04/01, 2024.4.1) are written.
_SEP: Final = rf"(?:{SP}?-{SP}?|{SP})"

_PHONE_RE: Final = re.compile(
    rf"""
    (?<![0-9+])          # not the tail of a longer digit run or of "+81..."
    (?<![0-9]-)          # not the 2nd group of "2024-0401-..." / "12-3456-7890"
    (?:
        # +81 90-1234-5678 / +81-3-1234-5678 / +81 (0)90-... / +819012345678
        \+81{SP}?-?{SP}?(?:\(0\){SP}?)?
        (?:[1-9][0-9]{{0,4}}{_SEP}[0-9]{{1,4}}{_SEP}[0-9]{{3,4}}
          |[1-9][0-9]{{8,9}})
      | # (03)1234-5678 / (0120)123-456 / (03)12345678: area code in brackets
        \(0[0-9]{{1,4}}\){SP}?(?:[0-9]{{1,4}}{_SEP}[0-9]{{3,4}}|[0-9]{{5,8}})
      | # 03(1234)5678: exchange in brackets
        0[0-9]{{1,4}}{SP}?\([0-9]{{1,4}}\){SP}?[0-9]{{3,4}}
      | # 03-1234-5678 / 090 1234 5678 / 0120-123-456 / 01267-2-3456
        0[0-9]{{1,4}}{_SEP}[0-9]{{1,4}}{_SEP}[0-9]{{3,4}}
      | # 03-12345678 / 090-12345678: a single separator
        0[0-9]{{1,4}}{_SEP}[0-9]{{5,8}}
      | # 0312345678 / 09012345678: no separator at all
        0[0-9]{{9,10}}
    )
    (?![0-9])            # must not run on into more digits ...
    (?!-[0-9])           # ... or into another hyphenated group
    """,
    re.VERBOSE,
)


def _is_japanese_phone_number(candidate: str) -> bool:
    """Check the digit count of a _PHONE_RE match (the regex only checks shape).

    Japanese numbers are 0 + 9 digits (landlines, 0120, 0570) or 0 + 10 digits
    (070/080/090 mobiles, 050 IP phones, 0800, 020).  The second digit is never
    0 ("00" is an international call prefix).
    """
    digits = re.sub(r"[^0-9]", "", candidate)
    if candidate.startswith("+81"):
        digits = digits[2:]  # drop the country code, restore the trunk "0"
        if not digits.startswith("0"):
            digits = "0" + digits
    if len(digits) not in (10, 11) or digits[0] != "0" or digits[1] == "0":
        return False
    # 11-digit numbers all have the form 0A0-...; anything else is not a phone.
    return len(digits) == 10 or digits[2] == "0"


def find_phones(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _PHONE_RE.finditer(folded):
        if _is_japanese_phone_number(match.group()):
            yield match.start(), match.end(), PHONE


# --------------------------------------------------------------------------
# E-mail addresses
# --------------------------------------------------------------------------

_EMAIL_RE: Final = re.compile(
    r"""
    (?<![A-Za-z0-9._%+\-])          # start of the local part (keeps scanning linear)
    [A-Za-z0-9._%+\-]+              # local part: dot-atom characters, no quoting
    @                               # ＠ / ﹫ were folded to @
    [A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?             # first domain label
    (?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*      # more labels
    \.[A-Za-z]{2,}                  # top-level domain: letters only
    (?![A-Za-z0-9\-])               # the whole domain (Japanese may follow: ...jpまで),
    (?!\.[A-Za-z0-9])               # not a prefix of it (example.co of example.co.jp)
    """,
    re.VERBOSE,
)


def find_emails(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _EMAIL_RE.finditer(folded):
        yield match.start(), match.end(), EMAIL


# --------------------------------------------------------------------------
# Postal codes
# --------------------------------------------------------------------------

_POSTAL_RE: Final = re.compile(
    rf"""
    (?:
        〒{SP}?[0-9]{{3}}-?[0-9]{{4}}   # with the postal mark the hyphen is optional
      | (?<![0-9])(?<![0-9]-)            # bare: not inside a longer number ...
        [0-9]{{3}}-[0-9]{{4}}            # ... and the hyphen is required
        (?!{SP}?円)                     # "100-1000円" is a price range
    )
    (?![0-9])(?!-[0-9])                  # not the head of a longer number
    """,
    re.VERBOSE,
)


def find_postal_codes(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _POSTAL_RE.finditer(folded):
        yield match.start(), match.end(), POSTAL_CODE


# --------------------------------------------------------------------------
# Policy / contract numbers
# --------------------------------------------------------------------------

_POLICY_KEYWORD_RE: Final = re.compile(
    rf"""
    (?:証券番号|契約番号|保険証券(?:番号)?|証券(?=No|№)
      |policy{SP}?(?:number|no\.?|\#|№))
    {SP}*(?:(?:No\.?|№|\#){SP}*)?       # 契約番号 No.123456
    (?:[:=]{SP}*|は{SP}*)?              # "：" is folded to ":"; 証券番号は...
    (?P<id>
        (?=[A-Za-z0-9\-]*[0-9])          # an id contains at least one digit
        [A-Za-z0-9](?:-?[A-Za-z0-9]){{5,}}  # 6+ alphanumerics, single inner hyphens
    )
    (?![A-Za-z0-9])
    """,
    re.VERBOSE | re.IGNORECASE,
)

# A bare run of 8+ digits is treated as a policy/contract/customer number.
_LONG_DIGITS_RE: Final = re.compile(
    rf"""
    (?<![0-9¥$])             # whole run only; ¥12345678 is an amount
    [0-9]{{8,}}
    (?![0-9])
    (?!{SP}*[円万億])       # 12345678円 / 10000000万円: amounts, not ids
    """,
    re.VERBOSE,
)


def find_policy_numbers(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _POLICY_KEYWORD_RE.finditer(folded):
        # Only the id is personal data; "証券番号：" stays readable.
        yield match.start("id"), match.end("id"), POLICY_NUMBER
    for match in _LONG_DIGITS_RE.finditer(folded):
        yield match.start(), match.end(), POLICY_NUMBER
