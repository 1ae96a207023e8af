"""Search folding: the one definition of which spellings of a text search treats as equal.

`fold(text)` is what the search index holds (posts.search_text, on SQLite and PostgreSQL
alike) and what a query is compared in; `fold_mapped(text)` is the same text with, for every
folded character, the span of the original it came from, so that a match found in the folded
text is highlighted on the original characters. docs/search.md says what folds and why.

The text is cut into *chunks*: a character and the marks that join it (combining marks, the
half-width and spacing voiced sound marks ﾞﾟ゛゜, and invisible format characters). Each
chunk folds on its own, and the folded text is the chunks' folds end to end, so a match
always maps back to whole chunks of the original. A chunk's fold:

1. invisible characters go (zero-width space and joiners, word joiner, BOM, soft hyphen,
   bidirectional marks: Unicode's format characters, and variation selectors);
2. NFKC, case folding, NFKC again: full-width and half-width forms become one (ＡＢＣ → abc,
   ｶﾀｶﾅ → カタカナ, １ → 1), compatibility characters spell themselves out (㈱ → (株),
   ㍿ → 株式会社), letters fold case (ß → ss);
3. the wave dash and the minus sign that Shift_JIS conversions swap become one (〜 ～ → ~,
   − － → -), and so do ‖ ∥ and — ―;
4. hiragana becomes katakana (ありがとう → アリガトウ; katakana is the canonical form as it has
   letters hiragana lacks, ヷ–ヺ), and the small vowels, ヮ, ヵ and ヶ become full size
   (フィルム = フイルム, 3ヶ月 = 3ケ月). Not the small ャュョッ: びょういん (病院) and
   びよういん (美容院), かって and かつて are different words;
5. NFC, so that a kana and a voiced mark that came apart join again (ウ + ゛ → ヴ).

Changing any of this changes what the index must hold: it needs a migration that refolds
every post (as 0023 did) in the same commit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Joined to the character before them: the half-width voiced marks (NFKC makes them
# combining marks) and the spacing ones (taken as the combining marks they stand for).
_VOICED_MARKS = {"\uff9e": "\u3099", "\uff9f": "\u309a", "\u309b": "\u3099", "\u309c": "\u309a"}

# Look-alikes that Shift_JIS (CP932) round trips swap; NFKC leaves these apart.
_LOOKALIKES = str.maketrans({"\u301c": "~", "\u2212": "-", "\u2016": "\u2225", "\u2014": "\u2015"})

_SMALL = dict(zip("ァィゥェォヵヶヮ", "アイウエオカケワ", strict=True))
_KANA: dict[int, str] = {}
for _code in range(0x3041, 0x3097):  # ぁ..ゖ -> ァ..ヶ
    _kata = chr(_code + 0x60)
    _KANA[_code] = _SMALL.get(_kata, _kata)
for _small, _large in _SMALL.items():
    _KANA[ord(_small)] = _large
_KANA[0x309D], _KANA[0x309E] = "\u30fd", "\u30fe"  # ゝゞ -> ヽヾ

LONG_VOWEL = "\u30fc"  # ー
# A katakana word this long or longer (counting its final ー) matches without that ー:
# コンピューター = コンピュータ, サーバー = サーバ; カー and エラー keep theirs. The rule of
# JIS Z 8301 spellings and of Lucene's Japanese katakana stemmer (minimum length 4).
LONG_VOWEL_MIN_WORD = 4


def _is_invisible(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x180B <= code <= 0x180F
    )


def _joins_previous(ch: str) -> bool:
    """Is this character part of the chunk of the character before it?"""
    return ch in _VOICED_MARKS or unicodedata.combining(ch) != 0 or _is_invisible(ch)


def _fold_chunk(chunk: str) -> str:
    text = "".join(_VOICED_MARKS.get(ch, ch) for ch in chunk if not _is_invisible(ch))
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = unicodedata.normalize("NFC", text.translate(_LOOKALIKES).translate(_KANA))
    return "".join(ch for ch in text if not _is_invisible(ch))


class _SingleCharacters(dict[int, str]):
    """The fold of each character that is a chunk on its own, computed once: str.translate's
    table for text without joining marks (nearly all text)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if _joins_previous(ch):
            _JOINERS.add(ch)
        folded = self[code] = _fold_chunk(ch)
        if len(folded) != 1 or ch in _JOINERS:
            _UNEVEN.add(ch)
        return folded


_JOINERS: set[str] = set(_VOICED_MARKS) | {"\u3099", "\u309a", "\u200b", "\u200d", "\ufeff"}
# Characters that do not fold one to one on their own: the joining ones, and those that fold
# to nothing or to more than one character (ß -> ss).
_UNEVEN: set[str] = set(_JOINERS)
_SINGLE = _SingleCharacters()


def one_to_one(text: str) -> str | None:
    """The fold of `text` when each of its characters is a chunk of its own that folds to one
    character (nearly all text: then every index is a chunk's edge, and the fold's index i
    is the text's); None otherwise. (Translating meets every character once, so that
    _UNEVEN knows them by the time it is asked.)"""
    folded = text.translate(_SINGLE)
    return folded if _UNEVEN.isdisjoint(text) else None


def chunk_edge(text: str, at: int, *, forward: bool = False) -> int:
    """The nearest edge between two chunks at or before index `at` (`forward`: at or after
    it), so that a cut there never parts a character from its voiced mark; 0 and len(text)
    are edges."""
    while 0 < at < len(text) and _joins_previous(text[at]):
        at += 1 if forward else -1
    return at


def chunks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each chunk of `text`."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(text)):
        if not _joins_previous(text[i]):
            bounds.append((start, i))
            start = i
    if text:
        bounds.append((start, len(text)))
    return bounds


@lru_cache(maxsize=4096)
def _fold_joined(chunk: str) -> str:
    return _fold_chunk(chunk)


def fold(text: str) -> str:
    """The folded text: what the index holds and what a query is compared in."""
    if _JOINERS.isdisjoint(text):
        folded = text.translate(_SINGLE)
        if _JOINERS.isdisjoint(text):  # the table may have met a joining mark just now
            return folded
    return "".join(_fold_joined(text[a:b]) for a, b in chunks(text))


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and, for each of its characters, the original span it came from."""

    text: str
    starts: Sequence[int]  # the original index where the chunk of folded character i starts
    ends: Sequence[int]  # ... and where it ends

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters that folded into text[start:end] (whole chunks)."""
        return self.starts[start], self.ends[end - 1]


def fold_mapped(text: str) -> Folded:
    """`fold(text)` with its map back to the original."""
    folded = one_to_one(text)
    if folded is not None:
        # Character for character (nearly all text): the map is the identity. Highlighting a
        # search page's 20 cards chunk by chunk was 45% of its CPU.
        return Folded(folded, range(len(text)), range(1, len(text) + 1))
    return _fold_mapped_by_chunks(text)


def _fold_mapped_by_chunks(text: str) -> Folded:
    """`fold_mapped` the general way, chunk by chunk."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for a, b in chunks(text):
        piece = _fold_joined(text[a:b])
        pieces.append(piece)
        starts.extend([a] * len(piece))
        ends.extend([b] * len(piece))
    return Folded("".join(pieces), tuple(starts), tuple(ends))


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30ff" or "\u31f0" <= ch <= "\u31ff"


def without_final_long_vowel(term: str) -> str:
    """A folded query term without the ー that ends a katakana word of 4+ characters (サーバー
    -> サーバ), so that it finds both spellings; the index keeps every ー as written."""
    if not term.endswith(LONG_VOWEL):
        return term
    run = 0
    for ch in reversed(term):
        if not _is_katakana(ch):
            break
        run += 1
    return term[:-1] if run >= LONG_VOWEL_MIN_WORD else term


def match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Where the (folded) terms occur in `text`, as sorted, merged spans of the original."""
    if not text or not terms:
        return []
    folded = fold_mapped(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        if not term:
            continue
        at = folded.text.find(term)
        while at != -1:
            spans.append(folded.original_span(at, at + len(term)))
            at = folded.text.find(term, at + len(term))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
