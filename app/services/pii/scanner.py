"""Finding and masking: every detector's candidates, the longest kept on overlap; masks."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Final

from app.services.pii.addresses import ADDRESS, find_addresses
from app.services.pii.names import HONORIFIC_TAIL_RE, find_names
from app.services.pii.patterns import (
    CUSTOMER_NAME,
    EMAIL,
    PHONE,
    POLICY_NUMBER,
    POSTAL_CODE,
    find_emails,
    find_phones,
    find_policy_numbers,
    find_postal_codes,
    fold,
)

_MASK: Final = "●●●"
# On equal length, the more specific detector wins (lower rank first).
_KIND_RANK: Final = {
    PHONE: 0,
    EMAIL: 1,
    POSTAL_CODE: 2,
    POLICY_NUMBER: 3,
    ADDRESS: 4,
    CUSTOMER_NAME: 5,
}
# mask_personal_data repeats find+mask until nothing is found; masking can only
# remove characters that blocked a neighbouring match, so two passes suffice in
# practice and the bound is just a safety net.
_MAX_MASK_PASSES: Final = 5


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: ``text == original[start:end]``."""

    start: int
    end: int
    kind: str
    text: str


def find_personal_data(text: str) -> list[PiiSpan]:
    """Return the personal data found in *text*, sorted by start, non-overlapping.

    Offsets are Python ``str`` indices into *text* itself (full-width input is
    matched through a length-preserving fold).  Where detectors overlap, the
    longest span is kept.  A ``customer_name`` span includes its honorific
    (``"山田様"``).
    """
    folded = fold(text)
    candidates = sorted(
        chain(
            find_phones(folded),
            find_emails(folded),
            find_postal_codes(folded),
            find_policy_numbers(folded),
            find_addresses(folded),
            find_names(folded),
        ),
        key=lambda c: (c[0] - c[1], _KIND_RANK[c[2]], c[0]),
    )
    taken = bytearray(len(text))
    kept: list[PiiSpan] = []
    for start, end, kind in candidates:
        if not any(taken[start:end]):
            taken[start:end] = b"\x01" * (end - start)
            kept.append(PiiSpan(start, end, kind, text[start:end]))
    kept.sort(key=lambda span: span.start)
    return kept


def _masked(span: PiiSpan) -> str:
    if span.kind == CUSTOMER_NAME:
        honorific = HONORIFIC_TAIL_RE.search(span.text)
        if honorific is not None:
            return _MASK + honorific.group()  # 山田様 -> ●●●様
    return _MASK


def _apply_masks(text: str, spans: list[PiiSpan]) -> str:
    pieces: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if not 0 <= span.start < span.end <= len(text) or text[span.start : span.end] != span.text:
            raise ValueError(f"span does not belong to this text: {span!r}")
        if span.start < position:
            continue  # overlaps a span already masked
        pieces.append(text[position : span.start])
        pieces.append(_masked(span))
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def mask_personal_data(text: str, spans: list[PiiSpan] | None = None) -> str:
    """Replace each personal-data span by ``●●●`` (names keep 様/さま/殿).

    With explicit *spans* (e.g. the ones the author confirmed) only those are
    masked.  Without, detection is repeated on the masked text until nothing
    is left: masking a span can unblock a neighbour that a boundary rule had
    suppressed (``12345678-123-4567``), so the result is a fixed point and
    masking it again changes nothing.
    """
    if spans is not None:
        return _apply_masks(text, spans)
    masked = text
    for _ in range(_MAX_MASK_PASSES):
        found = find_personal_data(masked)
        if not found:
            break
        masked = _apply_masks(masked, found)
    return masked
