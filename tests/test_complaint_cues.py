"""The signs of dissatisfaction a thanks may carry (services/complaint_cues.py): found in the
sentences customers really write, in any width or kana, and absent from plain thanks."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.complaint_cues import CUES, cue_sentences, cue_words, find_cues, fold

pytestmark = pytest.mark.nodb


def keys(text: str) -> set[str]:
    return {f.key for f in find_cues(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("対応は丁寧でしたが、連絡が遅くて困りました", {"contrast", "slow", "troubled"}),
        (
            "説明は良かったのですが、保険金の支払いが遅かったのが残念です。",
            {"contrast", "slow", "disappointed"},
        ),
        ("事故の連絡をしたのに折り返しがなく、不満に思いました。", {"no_contact", "dissatisfied"}),
        ("こんな対応なら二度と契約しません。", {"never_again"}),
        ("期待していたのでがっかりしました。", {"disappointed"}),
        ("担当の方は親切でしたけど、窓口で長く待たされました。", {"contrast", "kept_waiting"}),
        ("前回クレームを入れた件です。", {"complaint"}),
        ("満期の案内が届かず困っています。", {"troubled"}),
        ("書類の説明がわかりにくかったです。", {"unclear"}),
        ("電話の態度が悪くて不愉快でした。", {"rude"}),
        ("名義を間違えていました。", {"mistake"}),
        ("もっと早く教えてほしかった。", {"wanted_better"}),
        ("保険料が上がるとは聞いていない。", {"not_told"}),
        ("他社に乗り換えようかと思います。", {"leaving"}),
        ("勧誘がしつこいです。", {"pushy"}),
        ("いつも感謝しています。ただ、駐車場が狭いです。", {"contrast"}),
        ("解約したいと伝えたのに手続きが進まない。", {"leaving"}),
    ],
)
def test_cues_found_in_real_sentences(text, expected):
    assert expected <= keys(text)


@pytest.mark.parametrize(
    "text",
    [
        "丁寧でわかりやすかったです",
        "いつも親身に相談に乗っていただき、ありがとうございます。",
        "夜遅くまで対応してくださり、本当に助かりました。",
        "事故で困っていたところを助けてもらいました。",
        "困ったときにすぐ駆けつけてくれて感謝しています。",
        "山田さんが、笑顔で迎えてくれました。",
        "保険金の手続きがスムーズで、すぐに支払われました。",
        "説明が丁寧で、初めてでも安心して契約できました。",
        "間違いなくこの店で一番の担当者です。",
    ],
)
def test_plain_thanks_shows_no_cue(text):
    assert find_cues(text) == []


@pytest.mark.parametrize(
    ("variant", "key"),
    [
        ("ｶﾞｯｶﾘしました", "disappointed"),  # half-width katakana with ﾞ
        ("ガッカリしました", "disappointed"),  # katakana for hiragana
        ("くれーむです", "complaint"),  # hiragana for katakana
        ("ｸﾚｰﾑです", "complaint"),
        ("丁寧でしたが，連絡が来なかった", "contrast"),  # full-width comma
        ("か\u3099っかりしました", "disappointed"),  # a decomposed が
    ],
)
def test_width_and_kana_variants_match_the_same_cue(variant, key):
    assert key in keys(variant)


def test_spans_point_at_the_original_text():
    text = "ｶﾞｯｶﾘ。対応が遅い"
    found = find_cues(text)
    assert [(f.key, text[f.start : f.end]) for f in found] == [
        ("disappointed", "ｶﾞｯｶﾘ"),
        ("slow", "遅い"),
    ]
    assert cue_words("対応は丁寧でしたが、連絡が遅くて困りました") == [
        "でしたが",
        "遅く",
        "困りました",
    ]


def test_the_offered_summary_is_the_sentences_with_a_cue():
    body = (
        "担当の山田さんはとても親切でした。ただ、保険金の支払いが遅くて困りました。また頼みます。"
    )
    assert cue_sentences(body) == "ただ、保険金の支払いが遅くて困りました。"
    assert cue_sentences("丁寧でわかりやすかったです") == ""


def test_every_cue_has_its_own_name():
    assert len({c.key for c in CUES}) == len(CUES)


@given(st.text())
def test_never_crashes_and_is_deterministic(text):
    first = find_cues(text)
    assert first == find_cues(text)
    for f in first:
        assert 0 <= f.start < f.end <= len(text)
    assert [f.start for f in first] == sorted(f.start for f in first)


_SAMPLES = ["対応は丁寧でしたが、連絡が遅くて困りました", "ガッカリ", "クレーム", "二度と来ない"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20), st.sampled_from(_SAMPLES))
def test_normalising_the_text_finds_the_same_cues(noise, sample):
    text = noise + "。" + sample
    assert keys(text) == keys(unicodedata.normalize("NFKC", text))
    assert keys(sample) <= keys(text) | keys(fold(text))
