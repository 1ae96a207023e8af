"""The search fold (app/services/textfold.py) and the highlight it maps back to the original.

No database: what the databases do with the folded text is tests/test_search*.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.search import found_in, marked, search_terms
from app.services.textfold import (
    chunk_edge,
    chunks,
    fold,
    fold_mapped,
    match_spans,
    without_final_long_vowel,
)

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        # width: full-width Latin and digits, half-width katakana (voiced marks joined)
        ("ＡＢＣ１２３", "abc123"),
        ("ｶﾀｶﾅ", "カタカナ"),
        ("ｶﾞｲﾄﾞﾌﾞｯｸ", "ガイドブック"),
        ("ﾊﾟﾝﾌﾚｯﾄ", "パンフレット"),
        ("ｰ", "ー"),
        # case
        ("Excel TIPS", "excel tips"),
        ("Straße", "strasse"),
        # compatibility characters spell themselves out
        ("㈱", "(株)"),
        ("㍿", "株式会社"),
        ("①", "1"),
        # kana: hiragana is katakana, small vowels, ヮ, ヵ and ヶ are full size
        ("ありがとう", "アリガトウ"),
        ("ゔぁいおりん", "ヴアイオリン"),
        ("フィルム", "フイルム"),
        ("3ヶ月", "3ケ月"),
        ("1ヵ所", "1カ所"),
        # ... but not the small ャュョッ (病院 and 美容院, かって and かつて stay apart)
        ("びょういん", "ビョウイン"),
        ("かって", "カッテ"),
        # voiced marks that came apart join their kana
        ("か\u3099", "ガ"),
        ("か゛", "ガ"),
        ("ウ\u3099", "ヴ"),
        # look-alikes that Shift_JIS conversions swap
        ("〜～", "~~"),
        ("−－", "--"),
        # invisible characters go, even between a kana and its mark
        ("あり\u200bがと\u200dう\ufeff", "アリガトウ"),
        ("カ\u200b\u3099", "ガ"),
        ("❤\ufe0f", "❤"),
        ("soft\u00adhyphen", "softhyphen"),
    ],
)
def test_each_folding(typed: str, folded: str) -> None:
    assert fold(typed) == folded
    assert fold_mapped(typed).text == folded


def test_what_does_not_fold() -> None:
    assert fold("ビョウイン") != fold("ビヨウイン")
    assert fold("カッテ") != fold("カツテ")
    assert fold("ビール") != fold("ビル")  # a long vowel inside a word is part of it
    assert fold("漢字") == "漢字"
    assert fold("改行\nのまま") == "改行\nノママ"


def test_a_katakana_words_final_long_vowel_is_optional_in_a_query() -> None:
    assert without_final_long_vowel(fold("コンピューター")) == "コンピュータ"
    assert without_final_long_vowel(fold("ｻｰﾊﾞｰ")) == "サーバ"
    assert without_final_long_vowel(fold("さーばー")) == "サーバ"
    # short words keep it: カー is not カ, エラー not エラ
    assert without_final_long_vowel("カー") == "カー"
    assert without_final_long_vowel("エラー") == "エラー"
    assert without_final_long_vowel("漢字ー") == "漢字ー"
    assert search_terms("コンピューター　サーバー") == ["コンピュータ", "サーバ"]


# the offset map: a highlight covers the original characters


def test_highlight_covers_the_original_characters() -> None:
    text = "株式会社㈱のｶﾀｶﾅ表記"
    assert match_spans(text, search_terms("カタカナ")) == [(6, 10)]
    assert match_spans(text, search_terms("株")) == [(0, 1), (4, 5)]  # ㈱ whole
    assert match_spans("ｶﾞｲﾄﾞ", search_terms("ガイド")) == [(0, 5)]
    assert match_spans("ab", []) == []


def test_marked_text_is_escaped() -> None:
    body = '<script>alert("x")</script> ＜b＞ありがとう＜/b＞ & <img src=x onerror=1>'
    found = found_in("<i>タイトル</i>", body, "アリガトウ")
    assert found is not None and found.title is None
    assert found.excerpt is not None
    html = str(found.excerpt)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;/script&gt;" in html and "&amp;" in html
    assert "<mark>ありがとう</mark>" in html
    assert str(marked("a<b", [(1, 2)])) == "a<mark>&lt;</mark>b"


def test_excerpt_is_cut_around_the_first_match() -> None:
    body = "前置き" * 30 + "ありがとう" + "後書き" * 60
    found = found_in("題", body, "ありがとう")
    assert found is not None and found.excerpt is not None
    text = str(found.excerpt)
    assert text.startswith("…") and text.endswith("…")
    assert "<mark>ありがとう</mark>" in text
    assert found_in("題", body, "  ") is None


# Kana of both kinds and widths, voiced marks joined and apart, the long vowel, look-alikes,
# ㈱, letters of both widths and cases, invisible characters, combining accents, ß ﬁ İ (their
# case fold is longer), newlines and HTML's special characters.
_ALPHABET = st.sampled_from(
    "あいうかがきゃっアイウカガキャッｱｲｳｶｷﾞﾟｰー〜～㈱株ＡＢａｂAbc1１ \n<&\"'"
    "\u3099\u309a\u200b\u200d\ufe0f\u0301ßﬁİ"
)


@st.composite
def _text_and_query(draw: st.DrawFn) -> tuple[str, str]:
    """A random original and a query cut from it on chunk boundaries."""
    text = draw(st.text(alphabet=_ALPHABET, min_size=1, max_size=40))
    bounds = chunks(text)
    i = draw(st.integers(0, len(bounds) - 1))
    j = draw(st.integers(i, min(len(bounds) - 1, i + 6)))
    return text, text[bounds[i][0] : bounds[j][1]]


@settings(max_examples=400, deadline=None)
@given(case=_text_and_query())
def test_highlighted_span_folds_to_the_query(case: tuple[str, str]) -> None:
    text, typed = case
    assert fold(text) == fold_mapped(text).text
    terms = [t for t in search_terms(typed) if t]
    spans = match_spans(text, terms)
    if terms:  # the query came from the text: it is found there
        assert spans
    for start, end in spans:
        # Every highlighted span of the original, folded, holds one of the terms, and is
        # made of whole chunks (a kana is never cut from its voiced mark).
        assert any(t in fold(text[start:end]) for t in terms), (text[start:end], terms)
        assert start in {a for a, _b in chunks(text)}
        assert end in {b for _a, b in chunks(text)}
    # The marked HTML is the original, escaped, with nothing lost.
    html = str(marked(text, spans)).replace("<mark>", "").replace("</mark>", "")
    assert html == str(marked(text, []))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=30))
def test_folding_is_the_same_piece_by_piece(text: str) -> None:
    """The folded text is its chunks' folds end to end: a match maps to whole chunks."""
    assert fold(text) == "".join(fold(text[a:b]) for a, b in chunks(text))


@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_the_quick_map_is_the_chunk_by_chunk_map(text):
    """fold_mapped's shortcut (each character its own chunk, folding to one character) gives
    the text and the map the general way gives."""
    from app.services.textfold import _fold_mapped_by_chunks

    quick, general = fold_mapped(text), _fold_mapped_by_chunks(text)
    assert quick.text == general.text
    assert list(quick.starts) == list(general.starts) and list(quick.ends) == list(general.ends)


@given(st.text(alphabet=_ALPHABET, max_size=40), st.integers(0, 40))
def test_a_chunk_edge_is_where_chunks_meet(text, at):
    """chunk_edge gives what a walk over chunks() gives: the start of the chunk holding index
    `at`, or (forward) the end of the chunk holding index at-1."""
    at = min(at, len(text))
    bounds = chunks(text)
    back = next((a for a, b in bounds if b > at), len(text))
    ahead = next((b for a, b in bounds if b >= at), len(text)) if at else 0
    assert chunk_edge(text, at) == back
    assert chunk_edge(text, at, forward=True) == ahead
