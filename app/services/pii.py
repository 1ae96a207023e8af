"""Find and mask customers' personal data in a post's text before the post is published."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Final

__all__ = ["PiiSpan", "find_personal_data", "mask_personal_data"]

# Design notes
# ------------
# * Pure functions, no I/O: ``find_personal_data`` lists what to warn the
#   author about, ``mask_personal_data`` produces a publishable version.
# * Kinds: phone (Japanese landline/mobile/free-dial, +81), email, postal_code
#   (〒123-4567, 123-4567), policy_number (after 証券番号/契約番号/policy no,
#   or any bare run of 8+ digits) and customer_name (山田様, ヤマダさま, 山田殿).
# * Matching runs on a *width-folded* copy of the text that has exactly the
#   same length as the original: full-width digits/letters/punctuation
#   (０-９, Ａ-Ｚ, ＠, －, （）, ：) and half-width katakana are mapped one
#   character to one character (the per-character NFKC result, kept only when
#   it is a single character), and dash-like characters (ー – — ― ...) become
#   "-" only when they sit between two digits (so カタカナのー is untouched).
#   Every regex offset is therefore also an offset into the original text.
#   Whole-string NFKC is *not* used: it changes the length (ｶﾞ -> ガ, № -> No).
# * Digits are always matched as [0-9], never \d: \d would also accept Arabic
#   or Devanagari digits that the folding step does not convert.
# * Several detectors produce candidate spans; on overlap the longest span
#   wins (ties: phone > email > postal_code > policy_number > customer_name),
#   so "123-4567" inside a phone number never becomes a postal code.
# * Names are the heuristic part: a regex finds the script run in front of
#   様 / さま / 殿 and plain Python rules (stop lists, honorific prefixes お/ご,
#   what follows 様) decide whether it is a personal name.  False positives
#   only cost the author a warning; the stop lists target the honorific words
#   that praise posts are full of (お客様, 皆様, 担当者様, 同様 ...).

PHONE: Final = "phone"
EMAIL: Final = "email"
POSTAL_CODE: Final = "postal_code"
POLICY_NUMBER: Final = "policy_number"
CUSTOMER_NAME: Final = "customer_name"

_MASK: Final = "●●●"
# On equal length, the more specific detector wins (lower rank first).
_KIND_RANK: Final = {PHONE: 0, EMAIL: 1, POSTAL_CODE: 2, POLICY_NUMBER: 3, CUSTOMER_NAME: 4}
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


def _fold(text: str) -> str:
    """Return a copy of *text* of the same length, suitable for matching."""
    folded = _DASH_BETWEEN_DIGITS_RE.sub("-", text.translate(_FOLD_TABLE))
    assert len(folded) == len(text)  # every regex offset relies on this
    return folded


# --------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------

_SP: Final = r"[ \t]"
# Between digit groups: one hyphen (optionally with a space either side) or one
# space.  Commas, slashes and dots are deliberately not separators: they are
# how amounts (10,000) and dates (2024/04/01, 2024.4.1) are written.
_SEP: Final = rf"(?:{_SP}?-{_SP}?|{_SP})"

_PHONE_RE: Final = re.compile(
    rf"""
    (?<![0-9+])          # not the tail of a longer digit run or of "+81..."
    (?<![0-9]-)          # not the 2nd group of "2024-0401-..." / "12-3456-7890"
    (?:
        # +81 90-1234-5678 / +81-3-1234-5678 / +81 (0)90-... / +819012345678
        \+81{_SP}?-?{_SP}?(?:\(0\){_SP}?)?
        (?:[1-9][0-9]{{0,4}}{_SEP}[0-9]{{1,4}}{_SEP}[0-9]{{3,4}}
          |[1-9][0-9]{{8,9}})
      | # (03)1234-5678 / (0120)123-456 / (03)12345678: area code in brackets
        \(0[0-9]{{1,4}}\){_SP}?(?:[0-9]{{1,4}}{_SEP}[0-9]{{3,4}}|[0-9]{{5,8}})
      | # 03(1234)5678: exchange in brackets
        0[0-9]{{1,4}}{_SP}?\([0-9]{{1,4}}\){_SP}?[0-9]{{3,4}}
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


def _find_phones(folded: str) -> Iterator[tuple[int, int, str]]:
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


def _find_emails(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _EMAIL_RE.finditer(folded):
        yield match.start(), match.end(), EMAIL


# --------------------------------------------------------------------------
# Postal codes
# --------------------------------------------------------------------------

_POSTAL_RE: Final = re.compile(
    rf"""
    (?:
        〒{_SP}?[0-9]{{3}}-?[0-9]{{4}}   # with the postal mark the hyphen is optional
      | (?<![0-9])(?<![0-9]-)            # bare: not inside a longer number ...
        [0-9]{{3}}-[0-9]{{4}}            # ... and the hyphen is required
        (?!{_SP}?円)                     # "100-1000円" is a price range
    )
    (?![0-9])(?!-[0-9])                  # not the head of a longer number
    """,
    re.VERBOSE,
)


def _find_postal_codes(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _POSTAL_RE.finditer(folded):
        yield match.start(), match.end(), POSTAL_CODE


# --------------------------------------------------------------------------
# Policy / contract numbers
# --------------------------------------------------------------------------

_POLICY_KEYWORD_RE: Final = re.compile(
    rf"""
    (?:証券番号|契約番号|保険証券(?:番号)?|証券(?=No|№)
      |policy{_SP}?(?:number|no\.?|\#|№))
    {_SP}*(?:(?:No\.?|№|\#){_SP}*)?       # 契約番号 No.123456
    (?:[:=]{_SP}*|は{_SP}*)?              # "：" is folded to ":"; 証券番号は...
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
    (?!{_SP}*[円万億])       # 12345678円 / 10000000万円: amounts, not ids
    """,
    re.VERBOSE,
)


def _find_policy_numbers(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _POLICY_KEYWORD_RE.finditer(folded):
        # Only the id is personal data; "証券番号：" stays readable.
        yield match.start("id"), match.end("id"), POLICY_NUMBER
    for match in _LONG_DIGITS_RE.finditer(folded):
        yield match.start(), match.end(), POLICY_NUMBER


# --------------------------------------------------------------------------
# Customer names (before 様 / さま / 殿)
# --------------------------------------------------------------------------

# Kanji usable in names.  様 (U+69D8) and 殿 (U+6BBF) are cut out of the range
# so that "山田様田中様" yields two names instead of one run "山田様田中".
_KANJI: Final = r"\u3400-\u4DBF\u4E00-\u69D7\u69D9-\u6BBE\u6BC0-\u9FFF\uF900-\uFAFF々〆"
# Katakana incl. ー ヽ ヾ and the combining (han)dakuten left by folding ﾀﾞ.
_KATA: Final = r"\u30A1-\u30FA\u30FC-\u30FE\u3099\u309A"
_HIRA: Final = r"\u3041-\u3096\u309D\u309E"

# One name part is a *whole* run of one script (the look-behinds stop a match
# from starting in the middle of a run): the rules below need the full run to
# tell "ご家族" from "家族" and "担当者" from "者".
_NAME_PART: Final = rf"""
    (?:
        (?<![{_KANJI}])[{_KANJI}](?:[ノヶケ]?[{_KANJI}])*   # 山田, 佐々木, 一ノ瀬
      | (?<![{_KATA}])[{_KATA}]+                          # ヤマダ
      | (?<![{_HIRA}])[{_HIRA}]+?                         # さくら (lazy: stop before さま)
    )
"""
_NAME_RE: Final = re.compile(
    rf"""
    (?P<name>{_NAME_PART}(?:(?:{_SP}+|・){_NAME_PART})?)  # 山田 太郎 / ジョン・スミス
    {_SP}*
    (?P<honorific>様|さま|殿)
    """,
    re.VERBOSE,
)
_NAME_PART_RE: Final = re.compile(rf"[{_KANJI}](?:[ノヶケ]?[{_KANJI}])*|[{_KATA}]+|[{_HIRA}]+")
_HONORIFIC_TAIL_RE: Final = re.compile(r"(?:様|さま|殿)$")

_HONORIFIC_PREFIXES: Final = frozenset("おご御")  # お客様, ご家族様, 御社様
_PARTICLES: Final = frozenset("のはがをにへとでもや")
# 様 read as a word part, not as an honorific: 様々, 様子, 様式, 様相, 様態, 様変わり.
_NOT_HONORIFIC_AFTER_SAMA: Final = frozenset("々子式相態変")
# 殿 inside a word: 殿下, 殿堂, 殿方, 殿様, 殿中.
_NOT_HONORIFIC_AFTER_TONO: Final = frozenset("下堂方様中内上舎")
# さま inside a word: さまざま, さまよう / さまよった (but さまようこそ is a greeting).
_NOT_HONORIFIC_AFTER_HIRA_SAMA_RE: Final = re.compile(r"ざま|よ(?:う(?!こそ)|[っいわえ])")
# 様 read "よう" after an inflected hiragana word: できる様に, いい様な, 言った様だ.
# (Names such as ひなた or ゆう end the same way; they are only missed when
# followed by な/に/だ/で/じ.)
_INFLECTED_ENDINGS: Final = frozenset("るただいうの")
_YOU_READING_NEXT: Final = frozenset("なにだでじ")


def _words(*groups: str) -> list[str]:
    """Split space-separated word groups (keeps the stop lists compact)."""
    return [word for group in groups for word in group.split()]


# The name part *equals* one of these.  Single kanji here can also *end* a real
# name (花子, 和夫, 井上, 本多, 博文, 二宮 ...), so they cannot be suffixes.
_STOP_EXACT: Final = frozenset(
    _words(
        "奥 子 夫 妻 一 多 今 上 貴 人 外 左 然 斯 文 宮 若 名 各 別 新 湯 寝 拝 本 正 遠",
        # hiragana demonstratives and pronouns: この様な, どなた様, そちら様
        "この その あの どの かの あなた あんた そなた どなた こちら そちら あちら どちら",
        # hiragana さま-words: すぐさま, あからさま, さかさま, いかさま, ひとさま
        "すぐ あから さか いか なに ひと よそ かみ ほとけ との ひめ じい ばあ とう かあ さま",
        # katakana words that may also be (part of) a name
        "ファン カミ ホトケ ミナ",
    )
)
# The (last) name part *ends with* one of these: role nouns, deities, family
# words, organisations and honorific compounds.  None of them ends a real name.
_STOP_SUFFIXES: Final = tuple(
    _words(
        # people in general / customers: お客様, 皆様, 皆々様, 契約者様, 施主様, 遺族様
        "客 皆 者 主 親 族",
        "皆々 みな",
        # deities and nobility: 神様, 仏様, 王様, 姫様, お釈迦様, 天神様
        "神 仏 王 姫 嬢 坊",
        "王子 皇子 釈迦 観音 地蔵 菩薩 如来 大黒 恵比寿 稲荷 閻魔 天道",
        # family: お母様, 旦那様, ご主人様, ご両親様, 息子様
        "母 父 兄 姉 弟 妹 孫 娘 嫁 婿",
        "主人 旦那 両親 夫婦 息子 子供 子息 令嬢 令息 先祖",
        # people around: 先生, 友人, ご本人, 他人様, 先方様
        "先生 先輩 後輩 上司 部下 同僚 仲間 友達 友人 知人 本人 他人 恋人 夫人 婦人",
        "代理人 受取人 相続人 後見人 管理人 法人 個人 先方 奥方 貴方 相方 殿方",
        # roles: 担当様, 店長様, 部長様
        "担当 店長 社長 部長 課長 係長 所長 会長 院長 園長 校長",
        "局長 室長 次長 署長 町長 市長 議長 理事長",
        # customers as a group: 常連様, ご新規様, ご近所様, 取引先様
        "常連 新規 近所 世間 地域 町内 得意先 取引先",
        # organisations: 保険会社様, 代理店様, 東京海上様, 銀行様
        "社 店",
        "生命 損保 海上 火災 保険 銀行 商事 工業 協会 組合 病院 学校 大学 役所 事務所",
        # 様 as a word part: 同様, 仕様, 模様, 有様, 異様, 紋様, 態様, 何様, 俺様
        "同 仕 模 有 異 紋 態 何 俺",
        # set phrases: ご苦労様, ご馳走様, お世話様, お陰様, お気の毒様, お粗末様
        "苦労 馳走 世話 陰 毒 粗末 生憎 愁傷",
        # katakana roles: オーナー様, ユーザー様, スタッフ様, メーカー様
        "ユーザー オーナー クライアント ゲスト メンバー スタッフ パートナー カスタマー",
        "ドライバー サポーター ショップ メーカー ベンダー ホスト オペレーター センター",
        "チーム グループ カンパニー ホテル ストア",
    )
)
# 2名様, 何名様, 3組様, 一人様: counters, not names.
_COUNTER_RE: Final = re.compile(r"[一二三四五六七八九十百千何数]*[名人組件]")

_MAX_KANJI: Final = 4
_MIN_KANA: Final = 2
_MAX_KANA: Final = 8


_KANJI_CHAR_RE: Final = re.compile(rf"[{_KANJI}]")
_KATA_CHAR_RE: Final = re.compile(rf"[{_KATA}]")
_KANJI_OR_HIRA_CHAR_RE: Final = re.compile(rf"[{_KANJI}{_HIRA}]")


def _script(part: str) -> str:
    """Script of a name part ("kanji", "kata" or "hira"); parts are single-script."""
    if _KANJI_CHAR_RE.match(part):
        return "kanji"
    if _KATA_CHAR_RE.match(part):
        return "kata"
    return "hira"


def _is_stop_word(part: str) -> bool:
    return (
        part in _STOP_EXACT
        or part.endswith(_STOP_SUFFIXES)
        or _COUNTER_RE.fullmatch(part) is not None
    )


def _part_is_plausible(part: str, script: str) -> bool:
    if script == "kanji":
        return len(part) <= _MAX_KANJI + part.count("ノ") + part.count("ヶ") + part.count("ケ")
    if script == "kata":
        return _MIN_KANA <= len(part) <= _MAX_KANA and not part.startswith("ー")
    # hiragana: not an お/ご word (おかげさま, ごちそうさま, おかあさま) and not
    # just particles ("のに", "では").
    return (
        _MIN_KANA <= len(part) <= _MAX_KANA
        and part[0] not in "おご"
        and not set(part) <= _PARTICLES
    )


def _accept_name(folded: str, start: int, end: int, honorific: str, after: str) -> bool:
    """Decide whether ``folded[start:end]`` (the part before the honorific) is a name."""
    parts = _NAME_PART_RE.findall(folded, start, end)
    scripts = [_script(part) for part in parts]
    before = folded[start - 1] if start > 0 else ""
    if before in _HONORIFIC_PREFIXES or parts[0].startswith("御"):
        return False  # お客様, お子様, ご家族様, ご主人様, お母様, 御社様
    if scripts[0] == "hira" and _KANJI_OR_HIRA_CHAR_RE.match(before or " "):
        # Hiragana glued to kanji or to other hiragana is okurigana or a verb
        # ending (来てくれた様, お疲れさま), unless it follows a particle.
        if before not in _PARTICLES:
            return False
    if _is_stop_word(parts[-1]) or _is_stop_word("".join(parts)):
        return False
    if not all(_part_is_plausible(p, s) for p, s in zip(parts, scripts, strict=True)):
        return False
    # After a hiragana verb or adjective, 様 is the よう of できる様に / いい様な.
    return not (
        honorific == "様"
        and scripts[-1] == "hira"
        and parts[-1][-1] in _INFLECTED_ENDINGS
        and after[:1] in _YOU_READING_NEXT
    )


def _name_candidates(folded: str, match: re.Match[str]) -> Iterator[int]:
    """Yield possible start offsets of the name, best first."""
    start, end = match.span("name")
    yield start
    parts = list(_NAME_PART_RE.finditer(folded, start, end))
    last = parts[-1]
    if len(parts) > 1:
        yield last.start()  # "ご来店 山田様": the given-name-only fallback
    if _script(last.group()) == "kanji" and len(last.group()) > _MAX_KANJI:
        # "本日来店山田様": the run is longer than a name; keep the last four
        # kanji (over-masking a little beats leaking the name).
        yield last.end() - _MAX_KANJI
    if last.group()[0] in _PARTICLES and len(parts) == 1:
        yield last.start() + 1  # "担当のさくら様": drop the particle の


def _find_names(folded: str) -> Iterator[tuple[int, int, str]]:
    for match in _NAME_RE.finditer(folded):
        honorific = match.group("honorific")
        after = folded[match.end() : match.end() + 4]
        if honorific == "様" and after[:1] in _NOT_HONORIFIC_AFTER_SAMA:
            continue
        if honorific == "殿" and after[:1] in _NOT_HONORIFIC_AFTER_TONO:
            continue
        if honorific == "さま" and _NOT_HONORIFIC_AFTER_HIRA_SAMA_RE.match(after):
            continue
        end = match.end("name")
        for start in _name_candidates(folded, match):
            if start < end and _accept_name(folded, start, end, honorific, after):
                yield start, match.end(), CUSTOMER_NAME
                break


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def find_personal_data(text: str) -> list[PiiSpan]:
    """Return the personal data found in *text*, sorted by start, non-overlapping.

    Offsets are Python ``str`` indices into *text* itself (full-width input is
    matched through a length-preserving fold).  Where detectors overlap, the
    longest span is kept.  A ``customer_name`` span includes its honorific
    (``"山田様"``).
    """
    folded = _fold(text)
    candidates = sorted(
        chain(
            _find_phones(folded),
            _find_emails(folded),
            _find_postal_codes(folded),
            _find_policy_numbers(folded),
            _find_names(folded),
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
        honorific = _HONORIFIC_TAIL_RE.search(span.text)
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
