"""Street addresses: a municipality (市・区・町・村・郡, after an optional prefecture) followed,
with no space, by a block number written with 丁目 or hyphens (神宮前1-2-3, 本町二丁目 is not
caught: the number must be in digits). Text without digits never matches, and a place name
alone (新宿区の店舗) is not an address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

ADDRESS: Final = "address"

_KANJI: Final = r"\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF々〆ヶ"
_KATA: Final = r"\u30A1-\u30FA\u30FC"
_ADDRESS_RE: Final = re.compile(
    rf"""
    (?<![{_KANJI}{_KATA}])                       # the start of a place name
    (?:東京都|北海道|京都府|大阪府|[{_KANJI}]{{2,3}}県)?
    [{_KANJI}{_KATA}]{{1,10}}?(?:市|区|町|村|郡)    # municipality (or ward)
    [{_KANJI}{_KATA}]{{0,12}}?                     # town
    [0-9]{{1,4}}(?:丁目|-)[0-9]{{1,4}}             # 1丁目2 / 1-2
    (?:(?:番地?|-)(?:[0-9]{{1,4}}号?)?|番地?)?     # -3 / 番地 / 番3号
    (?![0-9])
    """,
    re.VERBOSE,
)


def find_addresses(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _ADDRESS_RE.finditer(folded):
        yield match.start(), match.end(), ADDRESS
