"""Signs of dissatisfaction in a customer's voice (不満の手がかり): the one list.

Insurers count any expression of dissatisfaction as a complaint, and a thanks often carries
one (「対応は丁寧でしたが、連絡が遅くて困りました」). When a praise post's text shows one of these
cues, the composer asks its author whether the voice includes a complaint (docs/compliance.md,
"Complaints inside praise"). A cue only makes the composer ask: the author decides.

Matching is done on a folded copy of the text: NFKC (half-width katakana, full-width letters
and digits, ㍉-style squares become their plain forms), katakana as hiragana (ガッカリ and
がっかり alike), lower case. Each cue is a regular expression written as one would type it; it
is folded the same way, so it is written once, in any width or kana. Spans are given in the
original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_KATAKANA = range(0x30A1, 0x30F7)  # ァ … ヶ: the ones with a hiragana twin 0x60 below


def _fold_char(ch: str) -> str:
    if ord(ch) in _KATAKANA:
        return chr(ord(ch) - 0x60)
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


def fold(text: str) -> str:
    """The form cues are matched in (see the module's note)."""
    return "".join(_fold_char(c) for c in unicodedata.normalize("NFKC", text))


def _folded_with_origins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`text` folded one character at a time, with each folded character's span in `text`.
    A combining mark (a half-width ﾞ after NFKC) joins the character before it, as the
    whole-text NFKC would join them."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, original in enumerate(text):
        for ch in unicodedata.normalize("NFKC", original):
            if unicodedata.combining(ch) and chars:
                joined = unicodedata.normalize("NFC", chars[-1] + ch)
                if len(joined) == 1:
                    chars[-1] = joined
                    spans[-1] = (spans[-1][0], i + 1)
                    continue
            chars.append(_fold_char(ch))
            spans.append((i, i + 1))
    return "".join(chars), spans


@dataclass(frozen=True, slots=True)
class Cue:
    key: str  # stable name, for tests and logs
    pattern: re.Pattern[str]


def _cue(key: str, pattern: str) -> Cue:
    return Cue(key, re.compile(fold(pattern)))


# Written as a Japanese insurance agency's customers say them. Keep each cue narrow enough
# that plain thanks pass: 「夜遅くまで対応してくれた」「困っていたところを助けてくれた」
# 「不安だったが安心できた」「面倒な手続きを代わりに」 are praise, so 不安 and 面倒 are not cues.
CUES: tuple[Cue, ...] = (
    _cue("disappointed", r"残念|ざんねん|がっかり|期待(外|はず)れ"),
    _cue("slow", r"(遅|おそ)(い(?!時間)|かっ|すぎ|れ|く(?!まで|に))|遅延"),
    _cue("troubled", r"(困|こま)(った(?!ところ|時|とき|際)|りました|ります|っています|ってます)"),
    _cue("dissatisfied", r"不満|不服"),
    _cue("never_again", r"二度と|にどと"),
    _cue("complaint", r"クレーム|苦情"),
    # A contrast after praise: 「丁寧でしたが、…」「良かったけど、…」「ただ、…」
    _cue(
        "contrast",
        r"(でした|ました|です|ます|かった|だった|だ)が[、,]|(けれども|けれど|けど)[、,]"
        r"|ものの[、,]|(^|[。!?\n])\s*(ただ|しかし|でも)[、,]",
    ),
    _cue("kept_waiting", r"待たされ|またされ|待ち時間が長"),
    _cue("rude", r"失礼(な|だ|で)|無礼|横柄|不親切|不愉快|不快|(態度|感じ)が悪"),
    _cue("unclear", r"(わか|分か|解)り(にく|づら)|説明(不足|が(な|足りな|少な))"),
    _cue("no_contact", r"連絡が(な|来な|こな)|折り返し(が)?(な|来な|こな)"),
    _cue("mistake", r"(間違|まちが)(え|って|いがあ)|手違い"),
    _cue("wanted_better", r"(て|で)(ほし|欲し)かった|改善(して|を|が必要)"),
    _cue("distrust", r"不信"),
    _cue("unconvinced", r"納得(でき|いか|がいか)(な|ませ)"),
    _cue("bother", r"迷惑|二度手間"),
    _cue("angry", r"怒|腹が立|頭にき|ひどい|酷い|最悪"),
    _cue("leaving", r"解約(したい|を考え|します)|他社に(乗り換え|変え)"),
    _cue("claim_unpaid", r"支払われ(な|ませ)|保険金が(出な|下りな|おりな)"),
    _cue("pushy", r"しつこ|強引|押し売り|無理(やり|矢理)"),
    _cue("not_told", r"聞いて(い)?な|説明と違|話が違"),
    _cue("poor_handling", r"対応が(悪|ひど|雑)|雑な対応|いい加減|いいかげん"),
)


@dataclass(frozen=True, slots=True)
class Found:
    key: str
    start: int  # in the original text
    end: int
    text: str  # the original text of the span


def find_cues(text: str) -> list[Found]:
    """Every cue in `text`, in the order they appear (each match once)."""
    folded, spans = _folded_with_origins(text)
    found: list[Found] = []
    for cue in CUES:
        for match in cue.pattern.finditer(folded):
            if match.end() == match.start():
                continue
            start = spans[match.start()][0]
            end = spans[match.end() - 1][1]
            found.append(Found(cue.key, start, end, text[start:end].strip("、,，。 \n")))
    found.sort(key=lambda f: (f.start, f.end, f.key))
    return found


def cue_words(*texts: str) -> list[str]:
    """The words that made the composer ask, as the author typed them (each once)."""
    words: dict[str, None] = {}
    for text in texts:
        for f in find_cues(text):
            if f.text:
                words.setdefault(f.text)
    return list(words)


_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


def cue_sentences(text: str) -> str:
    """The sentences of `text` that hold a cue, one per line: what the composer offers as the
    complaint's summary (the author may change it)."""
    sentences = (s.group().strip() for s in _SENTENCE.finditer(text))
    return "\n".join(s for s in sentences if s and find_cues(s))
