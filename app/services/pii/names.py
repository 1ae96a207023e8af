"""Customer names before 様 / さま / 殿: the heuristic part of the scanner (a regex finds the
run, plain rules and stop lists decide whether it is a personal name)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from app.services.pii.patterns import CUSTOMER_NAME, SP

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
    (?P<name>{_NAME_PART}(?:(?:{SP}+|・){_NAME_PART})?)  # 山田 太郎 / ジョン・スミス
    {SP}*
    (?P<honorific>様|さま|殿)
    """,
    re.VERBOSE,
)
_NAME_PART_RE: Final = re.compile(rf"[{_KANJI}](?:[ノヶケ]?[{_KANJI}])*|[{_KATA}]+|[{_HIRA}]+")
HONORIFIC_TAIL_RE: Final = re.compile(r"(?:様|さま|殿)$")

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


def find_names(folded: str) -> Iterator[tuple[int, int, str]]:
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
