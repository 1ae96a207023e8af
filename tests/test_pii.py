"""Tests for app.services.pii: detecting and masking customers' personal data."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.services.pii import PiiSpan, find_personal_data, mask_personal_data

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it

PHONE = "phone"
EMAIL = "email"
POSTAL = "postal_code"
POLICY = "policy_number"
NAME = "customer_name"
ADDRESS = "address"

# (sentence, expected (kind, text) hits in order)
HITS: list[tuple[str, list[tuple[str, str]]]] = [
    # --- phone numbers -------------------------------------------------------
    ("折り返しは03-1234-5678へお願いします", [(PHONE, "03-1234-5678")]),
    ("ご連絡先は090-1234-5678とのことです", [(PHONE, "090-1234-5678")]),
    ("フリーダイヤル0120-123-456までどうぞ", [(PHONE, "0120-123-456")]),
    ("携帯（０９０－１２３４－５６７８）にご連絡", [(PHONE, "０９０－１２３４－５６７８")]),
    ("ご自宅の番号は０３ー１２３４ー５６７８です", [(PHONE, "０３ー１２３４ー５６７８")]),
    ("携帯09012345678に折り返しました", [(PHONE, "09012345678")]),
    ("電話 (03)1234-5678 までお問い合わせください", [(PHONE, "(03)1234-5678")]),
    ("連絡先 03(1234)5678 の方", [(PHONE, "03(1234)5678")]),
    ("海外から+81 90-1234-5678でご連絡がありました", [(PHONE, "+81 90-1234-5678")]),
    ("藤沢支店 0466-12-3456 にお電話を", [(PHONE, "0466-12-3456")]),
    ("TEL:080 9876 5432（夜間）", [(PHONE, "080 9876 5432")]),
    ("携帯は０７０‐１１１１‐２２２２です", [(PHONE, "０７０‐１１１１‐２２２２")]),
    # --- e-mail ----------------------------------------------------------------
    ("メールアドレスはhanako.tanaka@example.comです", [(EMAIL, "hanako.tanaka@example.com")]),
    ("yamada.taro@example.co.jpまで資料を送付", [(EMAIL, "yamada.taro@example.co.jp")]),
    (
        "ｔａｎａｋａ＠ｅｘａｍｐｌｅ．ｎｅ．ｊｐへ送付しました",
        [(EMAIL, "ｔａｎａｋａ＠ｅｘａｍｐｌｅ．ｎｅ．ｊｐ")],
    ),
    ("ご登録メールyamada+ins@mail.example.jp。", [(EMAIL, "yamada+ins@mail.example.jp")]),
    # --- postal codes -----------------------------------------------------------
    ("ご住所〒150-0001 東京都渋谷区神宮前", [(POSTAL, "〒150-0001")]),
    ("〒１５０－０００１のお客様へ郵送", [(POSTAL, "〒１５０－０００１")]),
    ("郵便番号123-4567宛てに書類を送付", [(POSTAL, "123-4567")]),
    ("〒1234567 大阪府", [(POSTAL, "〒1234567")]),
    # --- policy / contract numbers ------------------------------------------------
    ("証券番号：ＡＢ１２３４５６７８を確認しました", [(POLICY, "ＡＢ１２３４５６７８")]),
    ("契約番号 9876543 のご契約を更新", [(POLICY, "9876543")]),
    ("証券No.12345678の件でご来店", [(POLICY, "12345678")]),
    ("保険証券番号は AB-123456 です", [(POLICY, "AB-123456")]),
    ("Policy No. X1234567 was renewed", [(POLICY, "X1234567")]),
    ("お客様番号１２３４５６７８９をお伝えしました", [(POLICY, "１２３４５６７８９")]),
    # --- addresses (a municipality, then a block number in digits) --------------
    ("ご自宅の東京都渋谷区神宮前1-2-3まで", [(ADDRESS, "東京都渋谷区神宮前1-2-3")]),
    ("大阪市北区梅田3丁目1番3号にお住まい", [(ADDRESS, "大阪市北区梅田3丁目1番3号")]),
    ("横浜市中区本町６－５０－１０のお客さま", [(ADDRESS, "横浜市中区本町６－５０－１０")]),
    (
        "〒150-0001 東京都渋谷区神宮前1-2-3 山田様",
        [(POSTAL, "〒150-0001"), (ADDRESS, "東京都渋谷区神宮前1-2-3"), (NAME, "山田様")],
    ),
    # --- customer names ---------------------------------------------------------
    ("本日ご来店の山田様から、お礼のお電話をいただきました。", [(NAME, "山田様")]),
    ("山田太郎様より「説明が分かりやすかった」とのお声", [(NAME, "山田太郎様")]),
    ("田中 花子 様、いつもありがとうございます。", [(NAME, "田中 花子 様")]),
    ("ヤマダ様が笑顔で帰られました", [(NAME, "ヤマダ様")]),
    ("佐藤さまから感謝のお手紙が届きました", [(NAME, "佐藤さま")]),
    ("鈴木一郎殿 お見舞い申し上げます", [(NAME, "鈴木一郎殿")]),
    ("担当のさくら様にも感謝を伝えました", [(NAME, "さくら様")]),
    ("一ノ瀬様と佐々木様がご来店", [(NAME, "一ノ瀬様"), (NAME, "佐々木様")]),
    ("ジョン・スミス様から英語でお礼", [(NAME, "ジョン・スミス様")]),
    ("ご来店 山田様", [(NAME, "山田様")]),
    # --- several kinds in one post ------------------------------------------------
    (
        "高橋様（090-1111-2222、takahashi@example.jp）",
        [(NAME, "高橋様"), (PHONE, "090-1111-2222"), (EMAIL, "takahashi@example.jp")],
    ),
    (
        "〒100-0005 東京都千代田区 03-1234-5678 証券番号：K20240401",
        [(POSTAL, "〒100-0005"), (PHONE, "03-1234-5678"), (POLICY, "K20240401")],
    ),
]

NON_HITS: list[str] = [
    "丁寧な説明をありがとう",
    "2024年4月1日に来店",
    "保険料は10,000円でした",
    "お客様から感謝の手紙",
    "2024-04-01に更新手続きをしました",
    "営業時間は9:00-18:00です",
    "第3-2会議室で面談",
    "保険料は月々3,980円、年間で47,760円です",
    "いつもお世話になっております。皆様のおかげです。",
    "担当の方がとても親切で、ご家族様にも喜んでいただけました。",
    "お子様連れでご来店のお客さまにキッズスペースが好評でした",
    "前回同様、丁寧にご対応いただきました",
    "補償内容の仕様について詳しく説明してもらえた",
    "台風の様子を心配されていたお客様",
    "様々なプランを比較できました",
    "神様のような対応でした、王様気分です",
    "ご主人様と奥様がそろってご来店",
    "お母様の介護保険のご相談、旦那様も同席",
    "スタッフの皆さまへ感謝、皆々様によろしく",
    "お疲れ様です！ご苦労様でした",
    "おかげさまで満足度アンケートは95点",
    "すぐさま対応してくれて助かった",
    "この様な対応は初めてです",
    "2名様でご来店、担当者様の説明が丁寧",
    "代理店様と保険会社様との連携がスムーズ",
    "キャンペーン期間は4/1-4/30です",
    "年間100万円の節約になりました",
    "オーナー様からのメッセージ",
    "ご本人様確認のうえ、ご契約者様へお渡し",
    "水玉模様のハンカチをいただきました",
    "新宿区の店舗で3-4名のお客さまに説明",
    "渋谷区と港区の2店舗で実施",
]


@pytest.mark.parametrize(("text", "expected"), HITS, ids=[h[0][:20] for h in HITS])
def test_finds_personal_data(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(s.kind, s.text) for s in find_personal_data(text)] == expected


@pytest.mark.parametrize("text", NON_HITS)
def test_ordinary_praise_is_not_flagged(text: str) -> None:
    assert find_personal_data(text) == []
    assert mask_personal_data(text) == text


@pytest.mark.parametrize(
    "word",
    [
        "お客様", "皆様", "皆さま", "お客さま", "奥様", "お子様", "ご家族様", "様々", "様子",
        "同様", "仕様", "模様", "神様", "王様", "お母様", "旦那様", "ご主人様",
    ],
)  # fmt: skip
def test_honorific_compounds_are_not_names(word: str) -> None:
    assert find_personal_data(word) == []
    assert find_personal_data(f"本日は{word}にありがとう") == []


@pytest.mark.parametrize(("text", "expected"), HITS, ids=[h[0][:20] for h in HITS])
def test_masking_removes_every_hit(text: str, expected: list[tuple[str, str]]) -> None:
    masked = mask_personal_data(text)
    assert find_personal_data(masked) == []
    for _kind, found in expected:
        assert found not in masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("山田様", "●●●様"),
        ("佐藤さまへ", "●●●さまへ"),
        ("田中 花子 様", "●●●様"),
        ("電話090-1234-5678", "電話●●●"),
        ("〒123-4567 東京都", "●●● 東京都"),
        ("証券番号：AB123456", "証券番号：●●●"),
        ("山田様田中様", "●●●様●●●様"),
        ("本日来店山田様", "本日●●●様"),
    ],
)
def test_mask_examples(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


def test_offsets_index_the_original_full_width_text() -> None:
    text = "ｶﾞｲﾄﾞの山田様、ＴＥＬ０９０－１２３４－５６７８"
    spans = find_personal_data(text)
    assert [(s.kind, s.text) for s in spans] == [
        (NAME, "山田様"),
        (PHONE, "０９０－１２３４－５６７８"),
    ]
    for span in spans:
        assert text[span.start : span.end] == span.text


def test_phone_number_is_not_also_a_postal_code_or_policy_number() -> None:
    assert [s.kind for s in find_personal_data("090-123-4567")] == [PHONE]
    assert [s.kind for s in find_personal_data("09012345678")] == [PHONE]
    assert [s.kind for s in find_personal_data("+819012345678")] == [PHONE]


@pytest.mark.parametrize("dash", ["-", "－", "‐", "‑", "–", "—", "―", "ー", "ｰ", "−"])
def test_every_dash_between_digits_counts_as_a_hyphen(dash: str) -> None:
    phone = f"０９０{dash}１２３４{dash}５６７８"
    postal = f"〒１２３{dash}４５６７"
    assert [(s.kind, s.text) for s in find_personal_data(f"携帯{phone}、{postal}")] == [
        (PHONE, phone),
        (POSTAL, postal),
    ]


def test_katakana_long_vowel_mark_is_only_a_hyphen_between_digits() -> None:
    assert find_personal_data("コーヒー123ー4567") == [
        PiiSpan(start=4, end=12, kind=POSTAL, text="123ー4567")
    ]


def test_mask_with_explicit_spans_masks_only_those() -> None:
    text = "山田様 090-1234-5678"
    phone = [s for s in find_personal_data(text) if s.kind == PHONE]
    assert mask_personal_data(text, phone) == "山田様 ●●●"
    assert mask_personal_data(text, []) == text


def test_mask_rejects_spans_of_another_text() -> None:
    spans = find_personal_data("電話090-1234-5678")
    with pytest.raises(ValueError, match="span does not belong"):
        mask_personal_data("別の文章です。もっと長い文章です。", spans)


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

# Pieces that build (and almost build) personal data, glued in random order.
FRAGMENTS = [
    "03-1234-5678", "０９０－１２３４－５６７８", "0120-123-456", "(03)", "+81 ", "〒",
    "123-4567", "１２３ー４５６７", "12345678", "a.b@example.jp", "ｙａｍａｄａ＠ｅｘ．ｃｏｍ",
    "証券番号：", "契約番号 ", "policy no ", "AB1234", "山田", "太郎", "ヤマダ", "さくら",
    "様", "さま", "殿", "お客", "ご", "お", "の", "ー", "－", "-", " ", "　", "円", "@", ".",
    "●●●", "様々", "皆", "渋谷区", "神宮前", "1-2-3", "丁目", "番地",
]  # fmt: skip
NUMERIC_ALPHABET = "0123456789０１２３４５-－ー‐ ()+@.ab〒様さま山田ヤマダの円●"

pii_texts = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet=NUMERIC_ALPHABET, max_size=14),
        st.text(max_size=6),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(pii_texts)
def test_spans_are_sorted_in_bounds_and_disjoint(text: str) -> None:
    spans = find_personal_data(text)
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        assert span.text == text[span.start : span.end]
        previous_end = span.end


@settings(max_examples=400, deadline=None)
@given(pii_texts)
def test_masked_text_has_no_contact_or_policy_data_left(text: str) -> None:
    left = find_personal_data(mask_personal_data(text))
    assert [s for s in left if s.kind in {PHONE, EMAIL, POSTAL, POLICY}] == []


@settings(max_examples=400, deadline=None)
@given(pii_texts)
def test_masking_is_idempotent(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


def _is_trigger(char: str) -> bool:
    return unicodedata.category(char) == "Nd" or char in "@＠﹫様殿"


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)).filter(lambda c: not _is_trigger(c))))
def test_text_without_digits_at_or_honorific_has_no_hits(text: str) -> None:
    assume("さま" not in text)  # さま is the kana spelling of 様
    assert find_personal_data(text) == []
    assert mask_personal_data(text) == text
