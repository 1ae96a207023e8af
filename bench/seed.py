"""`python bench/seed.py`: the large synthetic data set of the performance benchmark (SPEC §8).
It was `arigato bench-seed`; it is a benchmark tool, not part of the product.

PostgreSQL is loaded with `COPY ... FROM STDIN` (psycopg 3) in one transaction, so that a
million posts and five million likes take minutes, and a failure leaves nothing behind.
SQLite, for small sizes such as the tests, gets batched INSERTs in one transaction.

Every number is drawn from RNGs seeded by `--seed`: the same options give the same data.
"""

from __future__ import annotations

import os
import random
import sys
import time
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa

if __package__ in (None, ""):  # run as a script: the project's root, for `app`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings, get_settings
from app.security import hash_password, new_token, token_digest
from app.services.markdown import render_comment, render_markdown
from app.services.people.tokens import TOKEN_PREFIX
from app.services.search import indexed_text

# Every seeded user has this password (one argon2 hash, computed once per run).
BENCH_PASSWORD = "arigato-bench-password"
JST = ZoneInfo("Asia/Tokyo")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
DAY_US = 86_400 * US
# Search terms printed for the benchmark: two common two-character words and a rare one.
COMMON_TERMS = ("感謝", "丁寧")
RARE_TERM = "ハザードマップ"

Row = tuple[Any, ...]


class SeedRefused(Exception):
    """Bad options or a database that is not empty: shown as a one-line error, exit 2."""


# ---------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------

REGIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("R-HKD", "北海道地域", [("SPR", "札幌"), ("AKW", "旭川"), ("HKD", "函館"), ("KSR", "釧路"),
                            ("OBH", "帯広")]),
    ("R-THK", "東北地域", [("SND", "仙台"), ("MRK", "盛岡"), ("AOM", "青森"), ("AKT", "秋田"),
                          ("YGT", "山形"), ("FKS", "福島"), ("KRY", "郡山")]),
    ("R-KNT", "関東地域", [("TKY", "東京"), ("SNJ", "新宿"), ("YKH", "横浜"), ("KWS", "川崎"),
                          ("CHB", "千葉"), ("STM", "さいたま"), ("UTN", "宇都宮"), ("MBS", "前橋"),
                          ("MTO", "水戸"), ("HCJ", "八王子"), ("FNB", "船橋")]),
    ("R-CHB", "中部地域", [("NGY", "名古屋"), ("SZK", "静岡"), ("HMM", "浜松"), ("NGT", "新潟"),
                          ("KNZ", "金沢"), ("TYM", "富山"), ("NGN", "長野"), ("GIF", "岐阜"),
                          ("FKI", "福井"), ("KOF", "甲府")]),
    ("R-KNK", "近畿地域", [("OSK", "大阪"), ("UMD", "梅田"), ("KYT", "京都"), ("KOB", "神戸"),
                          ("NAR", "奈良"), ("WKY", "和歌山"), ("OTU", "大津"), ("SKI", "堺")]),
    ("R-CGK", "中国地域", [("HRS", "広島"), ("OKY", "岡山"), ("YMG", "山口"), ("TTR", "鳥取"),
                          ("MTE", "松江"), ("FKY", "福山")]),
    ("R-SKK", "四国地域", [("TKM", "高松"), ("MYM", "松山"), ("KOC", "高知"), ("TKS", "徳島")]),
    ("R-KYS", "九州・沖縄地域", [("FUK", "福岡"), ("KKS", "北九州"), ("KMM", "熊本"),
                                ("KGS", "鹿児島"), ("NGS", "長崎"), ("OIT", "大分"),
                                ("MYZ", "宮崎"), ("NAH", "那覇"), ("SAG", "佐賀")]),
]  # fmt: skip
DEPARTMENTS = [("HQ-QC", "本社 品質・コンプライアンス部"), ("HQ-IT", "本社 情報システム部")]
SHOP_AREAS = [
    "中央", "駅前", "本町", "北", "南", "東", "西", "港", "桜通り", "緑町", "新町", "旭町", "栄町",
    "花園", "若葉", "平和通り", "大通り", "寿町", "幸町", "城北", "城南", "住吉", "青葉", "山手",
]  # fmt: skip
SURNAMES = [
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田",
    "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本",
    "阿部", "石川", "山下", "中島", "石井", "小川", "前田", "岡田", "長谷川", "藤田", "後藤",
    "近藤", "村上", "遠藤", "青木", "坂本", "福田", "太田", "西村", "藤井", "岡本", "松田",
]  # fmt: skip
GIVEN_NAMES = [
    "太郎", "花子", "一郎", "美咲", "健太", "さくら", "翔太", "陽菜", "大輔", "由美", "直樹",
    "恵", "拓也", "彩", "亮", "真由美", "健一", "愛", "誠", "葵", "蓮", "結衣", "悠真", "美穂",
    "和也", "香織", "智子", "浩二", "舞", "隆", "千尋", "裕子", "修", "奈々", "達也", "明美",
]  # fmt: skip
TAGS = [
    ("事故対応", 10), ("満期案内", 9), ("自動車保険", 9), ("火災保険", 7), ("地震保険", 5),
    ("生命保険", 5), ("傷害保険", 3), ("電話応対", 8), ("店頭接客", 8), ("高齢のお客さま", 6),
    ("ご家族", 4), ("法人のお客さま", 3), ("新人教育", 5), ("事務効率化", 6), ("書類作成", 5),
    ("チェックリスト", 4), ("アンケート", 5), ("訪問", 4), ("災害対応", 3), ("保険金請求", 5),
    ("更新手続き", 6), ("補償の見直し", 5), ("コンプライアンス", 3), ("横展開", 4),
    ("好取組", 3), ("ペーパーレス", 2), ("オンライン面談", 2), ("多言語対応", 1),
    ("バリアフリー", 1), ("キャッシュレス", 1),
]  # fmt: skip

# The weights of the channels and products of a praise post.
CHANNELS = [
    ("counter", 30), ("phone", 25), ("survey", 18), ("letter", 8), ("email", 7), ("visit", 9),
    ("other", 3),
]  # fmt: skip
PRODUCTS = [("auto", 40), ("fire", 20), ("earthquake", 8), ("life", 12), ("casualty", 8),
            ("other", 4)]  # fmt: skip
CATEGORIES = [("knowledge", 40), ("skill", 35), ("tool", 25)]

PRODUCT_WORDS = {
    "auto": "自動車保険", "fire": "火災保険", "earthquake": "地震保険", "life": "生命保険",
    "casualty": "傷害保険",
}  # fmt: skip
TOPICS = {
    "auto": ["事故対応", "車両入替の手続き", "満期案内", "ロードサービスの手配", "等級のご説明",
             "補償内容の見直し", "名義変更の手続き"],
    "fire": ["満期案内", "水災補償のご説明", "保険金請求", "更新手続き", "補償内容の見直し",
             "住所変更の手続き"],
    "earthquake": ["地震保険のご説明", "保険金請求", "災害後のお見舞い", "更新手続き"],
    "life": ["保障内容の見直し", "給付金の請求", "新規のご契約", "受取人変更の手続き"],
    "casualty": ["保険金請求", "通院のご相談", "新規のご契約", "更新手続き"],
    "other": ["ご契約内容の確認", "口座振替の手続き", "住所変更の手続き", "各種お手続き"],
}  # fmt: skip
CHANNEL_PHRASES = {
    "counter": "店頭で", "phone": "お電話で", "survey": "アンケートで", "letter": "お手紙で",
    "email": "メールで", "visit": "ご訪問の際に", "other": "",
}  # fmt: skip
WHEN = ["先日", "昨日", "先週", "本日", "月末に", "今朝", "夕方", "連休明けに"]
CUSTOMERS = [
    "ご高齢のお客さま", "長年ご契約いただいているお客さま", "法人のお客さま",
    "初めてご来店されたお客さま", "若いご夫婦のお客さま", "事故に遭われたお客さま",
    "子育て中のお客さま", "お取引先の社長", "一人暮らしを始めたお客さま", "ご家族連れのお客さま",
]  # fmt: skip
QUOTES = [
    "ありがとう", "本当に助かりました", "説明が分かりやすかった", "丁寧に対応してくれてありがとう",
    "親切にしていただき感謝しています", "また次もお願いしたい", "安心して任せられます",
    "すぐに駆けつけてくれて心強かった", "いつも笑顔で迎えてくれてありがとう",
    "ここで契約してよかった", "夜遅くまで対応してくれて感謝しています", "あなたに相談してよかった",
    "こんなに親身になってくれるとは思わなかった", "説明がとても丁寧で安心しました",
]  # fmt: skip
PRAISE_TITLES = [
    "{topic}のお礼のお電話をいただきました", "{channel}「ありがとう」の声をいただきました",
    "{product}{topic}で感謝のお言葉", "「{quote}」とのお声をいただきました",
    "{customer}からお礼のお言葉", "{topic}への丁寧な対応にお褒めの言葉",
    "{topic}が分かりやすかったとのお声", "{customer}から「{quote}」",
    "{product}{topic}でお褒めの言葉をいただきました", "親切な{topic}にお礼のお言葉",
]  # fmt: skip
PRAISE_DETAILS = [
    "書類の書き方を一つずつ丁寧にご説明したところ、とても喜んでいただけました。",
    "夜遅くまで親身に対応したことが安心につながったそうです。",
    "保険金のお支払いまでの流れを最初に図でご説明しました。",
    "補償の変更点を一枚にまとめてお渡ししました。",
    "お待たせしないよう、事前に必要書類をご案内しておきました。",
    "事故の直後に状況を伺い、レッカーと代車の手配をすぐに行いました。",
    "ご自宅に伺い、ご家族と一緒に内容を確認しました。",
    "専門用語を使わずにご説明するよう心がけました。",
    "お客さまのお話を最後までお聞きしてから、必要な補償をご提案しました。",
    "手続きの進み具合を毎日お電話でお知らせしました。",
    "窓口が混み合う中でも、笑顔でお迎えすることを大切にしました。",
    "前回のご相談内容を記録しておき、すぐにお答えできるようにしていました。",
    "ご不明な点がないか、帰り際にもう一度確認しました。",
    "お孫さんの自転車保険についても、あわせて親切にご案内しました。",
]  # fmt: skip
PRAISE_QUOTE_LINES = [
    "「{quote}」とおっしゃっていただきました。", "アンケートには「{quote}」と書かれていました。",
    "帰り際に「{quote}」とお声がけいただきました。", "後日「{quote}」とご連絡がありました。",
]  # fmt: skip
PRAISE_CLOSINGS = [
    "店舗一同、感謝の気持ちでいっぱいです。",
    "これからもお客さま一人ひとりに寄り添った対応を続けます。",
    "店内で共有し、皆の励みにしています。",
    "担当者の丁寧な説明が評価されました。",
    "今後も分かりやすいご説明を心がけます。",
    "朝礼で紹介し、全員で喜びを分かち合いました。",
    "お客さまの声を励みに、これからも頑張ります。",
]  # fmt: skip
# Rare sentences, each with its probability per praise post: rare words for search.
PRAISE_RARE = [
    (0.003, "ハザードマップを一緒に確認し、水災補償の必要性をご説明しました。"),
    (0.01, "ドライブレコーダーの映像のおかげで、事故状況の確認がスムーズに進みました。"),
    (0.0005, "ひょう災で傷ついた屋根の写真を一緒に撮影し、請求書類を整えました。"),
    (0.002, "外国籍のお客さまには、多言語パンフレットを使ってご説明しました。"),
]
TASKS = [
    "満期案内", "事故受付", "更新手続き", "保険金請求の案内", "住所変更の手続き", "新規契約の説明",
    "電話応対", "書類のチェック", "窓口の受付", "訪問の準備", "補償の見直し提案", "新人の指導",
]  # fmt: skip
KNOWHOW_TITLES = [
    "{task}は「変わる点だけ一枚」にまとめる", "{task}の待ち時間を減らす工夫",
    "{task}のチェックリストを作りました", "新人向け{task}の進め方",
    "{tool}で{task}を効率化", "{task}で不備を減らすコツ", "{task}を分かりやすくする3つのポイント",
    "{task}の説明資料を作り直しました", "{task}の丁寧な進め方",
]  # fmt: skip
TOOLS = ["共有カレンダー", "タブレット", "チェックシート", "説明用の図解シート", "定型メール",
         "お客さま向けQ&A", "付せん"]  # fmt: skip
PROBLEMS = [
    "{task}の説明が長くなり、お客さまが要点をつかみにくい。",
    "{task}で書類の不備が多く、再提出をお願いすることがあった。",
    "電話が集中する時間帯に{task}が滞っていた。",
    "担当者によって{task}の品質にばらつきがあった。",
    "{task}に時間がかかり、お客さまをお待たせしていた。",
    "新人が{task}で迷うことが多かった。",
]  # fmt: skip
IDEAS = [
    "前年からの**変更点だけ**を一枚にまとめる", "よくある質問をA4一枚にまとめて窓口に置く",
    "チェックリストで記入漏れを事前に確認する", "共有カレンダーで担当を見える化する",
    "折り返しの時間を必ずお伝えする", "タブレットで補償内容を図で見せる",
    "保険料の差額は大きな数字で示す", "丁寧な言葉づかいのフレーズ集を作る",
    "朝礼で5分だけ事例を共有する", "記入例に付せんで印をつけてお渡しする",
    "ベテランと新人でペアを組んでロールプレイをする", "案内状に問い合わせ先を大きく書く",
]  # fmt: skip
RESULTS = [
    "説明時間が平均{n}分短くなりました。", "書類の不備が{pct}%減りました。",
    "アンケートの「分かりやすさ」が上がり、お客さまから感謝の声も増えました。",
    "新人でも同じ品質で対応できるようになりました。",
    "お待たせする時間が短くなり、クレームがなくなりました。",
    "店舗全体で取り入れ、他店にも横展開しています。",
]  # fmt: skip
KNOWHOW_RARE = [
    (0.003, "ハザードマップの確認を手順に加え、水災の説明漏れを防ぐ"),
    (0.005, "キャッシュレス決済の手順書を窓口に置く"),
]
COMMENTS = [
    "素晴らしい対応ですね！", "参考になります。うちの店でもやってみます。",
    "ありがとうございます！励みになります。", "丁寧な説明、見習います。",
    "横展開させてください。", "お客さまの声、嬉しいですね。",
    "チェックリスト、共有いただけますか？",
    "さすがです！", "いい取組ですね。", "感謝の声が届くのは嬉しいですね。",
    "お疲れさまでした。", "私も同じような経験があります。", "早速、朝礼で紹介しました。",
    "資料のテンプレートがあれば教えてください。", "素敵なお話をありがとうございます。",
]  # fmt: skip
HIDDEN_REASONS = [
    "お客さまの個人情報が含まれていたため非表示にしました。",
    "重複投稿のため非表示にしました。",
    "内容の確認中のため一時的に非表示にしています。",
]  # fmt: skip
FEATURE_NOTES = [
    "好取組として全店に共有します。", "お客さま第一の好事例です。各店で参考にしてください。",
    "横展開をお願いします。",
]  # fmt: skip


def _cum(pairs: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], list(accumulate(p[1] for p in pairs))


class TextGen:
    """Japanese titles and bodies assembled from the phrase lists above."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def praise(self, product: str | None, channel: str) -> tuple[str, str]:
        r = self.rng
        prod = product or "other"
        topic = r.choice(TOPICS[prod])
        quote = r.choice(QUOTES)
        customer = r.choice(CUSTOMERS)
        of_product = f"{PRODUCT_WORDS[product]}の" if product and product != "other" else ""
        title = r.choice(PRAISE_TITLES).format(
            topic=topic,
            channel=CHANNEL_PHRASES[channel],
            product=of_product,
            quote=quote,
            customer=customer,
        )[:120]
        lines = [
            f"{r.choice(WHEN)}、{customer}から{CHANNEL_PHRASES[channel]}"
            f"{of_product}{topic}についてお礼のお言葉をいただきました。"
        ]
        lines.extend(r.sample(PRAISE_DETAILS, r.choice((1, 1, 2, 2, 3))))
        for p, sentence in PRAISE_RARE:
            if r.random() < p:
                lines.append(sentence)
        lines.append(r.choice(PRAISE_QUOTE_LINES).format(quote=quote))
        if r.random() < 0.7:
            lines.append(r.choice(PRAISE_CLOSINGS))
        return title, "\n".join(lines)

    def knowhow(self) -> tuple[str, str]:
        r = self.rng
        task = r.choice(TASKS)
        title = r.choice(KNOWHOW_TITLES).format(task=task, tool=r.choice(TOOLS))[:120]
        ideas = r.sample(IDEAS, r.choice((1, 2, 2, 3)))
        for p, idea in KNOWHOW_RARE:
            if r.random() < p:
                ideas.append(idea)
        result = r.choice(RESULTS).format(n=r.randint(3, 15), pct=r.randint(10, 60))
        body = (
            f"## 課題\n{r.choice(PROBLEMS).format(task=task)}\n\n## 工夫\n"
            + "\n".join(f"- {i}" for i in ideas)
            + f"\n\n## 成果\n{result}"
        )
        return title, body

    def comment(self) -> str:
        r = self.rng
        if r.random() < 0.3:
            return r.choice(COMMENTS) + r.choice(COMMENTS)
        return r.choice(COMMENTS)


# ---------------------------------------------------------------------------------------
# The data set
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    units: int
    users: int
    posts: int
    likes: int
    comments: int
    praise_share: float
    seed: int
    tokens: int


def _us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass
class BenchData:
    """Plans the whole data set up front (small arrays), then streams each table's rows."""

    sizes: Sizes
    now_us: int
    password_hash: str
    unit_rows: list[Row] = field(default_factory=list)
    shop_ids: list[int] = field(default_factory=list)
    branch_ids: list[int] = field(default_factory=list)
    user_unit: array[int] = field(default_factory=lambda: array("i", [0]))  # index = user id
    user_rows: list[Row] = field(default_factory=list)
    staff_ids: list[int] = field(default_factory=list)
    curator_ids: list[int] = field(default_factory=list)
    token_user_ids: list[int] = field(default_factory=list)
    post_created: array[int] = field(default_factory=lambda: array("q"))
    post_kind: bytearray = field(default_factory=bytearray)  # 1 praise, 0 know-how
    post_status: bytearray = field(default_factory=bytearray)  # 0 published, 1 draft, 2 hidden
    post_author: array[int] = field(default_factory=lambda: array("i"))
    like_counts: array[int] = field(default_factory=lambda: array("i"))
    comment_counts: array[int] = field(default_factory=lambda: array("i"))
    big_comment_posts: list[int] = field(default_factory=list)
    post_tag_ids: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # Columns of later schema versions, filled when the database has them (see _use_columns).
    post_extras: tuple[str, ...] = ()
    comment_extras: tuple[str, ...] = ()

    STATUS = ("published", "draft", "hidden")

    def rng(self, stream: int) -> random.Random:
        # Reproducible synthetic data, not secrets: a seeded PRNG is the point.
        return random.Random(self.sizes.seed * 1_000_003 + stream)  # noqa: S311

    # -- org units and users ------------------------------------------------------------

    def plan_units(self) -> None:
        n = self.sizes.units
        depts = DEPARTMENTS[: 2 if n >= 100 else 1]
        rest = n - 1 - len(depts)
        n_regions = max(1, min(len(REGIONS), round(rest / 50)))
        n_branches = max(n_regions, round(rest / 9))
        n_shops = rest - n_regions - n_branches
        if n_shops < n_branches:  # small sizes: at least one shop per branch
            n_branches = max(n_regions, (rest - n_regions) // 2)
            n_shops = rest - n_regions - n_branches
        created = _dt(self.now_us - 3 * 365 * DAY_US - 60 * DAY_US)
        rows = self.unit_rows
        rows.append((1, "HQ", "ありがとう保険サービス株式会社", "company", None, True, created))
        for code, name in depts:
            rows.append((len(rows) + 1, code, name, "department", 1, True, created))
        region_ids = []
        for code, name, _cities in REGIONS[:n_regions]:
            region_ids.append(len(rows) + 1)
            rows.append((len(rows) + 1, code, name, "region", 1, True, created))
        # Branches round-robin over the regions, taking each region's next city.
        branches: list[tuple[int, str, str]] = []  # id, code, city
        used = [0] * n_regions
        for i in range(n_branches):
            r = i % n_regions
            cities = REGIONS[r][2]
            k = used[r]
            used[r] += 1
            bcode, city = cities[k % len(cities)]
            if k >= len(cities):
                bcode, city = f"{bcode}{k // len(cities) + 1}", f"{city}第{k // len(cities) + 1}"
            bid = len(rows) + 1
            rows.append((bid, f"B-{bcode}", f"{city}支店", "branch", region_ids[r], True, created))
            branches.append((bid, bcode, city))
            self.branch_ids.append(bid)
        rng = self.rng(1)
        # Shops: every branch gets one, the rest go to branches weighted by size.
        weights = [rng.uniform(0.5, 2.0) for _ in branches]
        per_branch = [1] * len(branches)
        for b in rng.choices(range(len(branches)), weights=weights, k=n_shops - len(branches)):
            per_branch[b] += 1
        for (bid, bcode, city), count in zip(branches, per_branch, strict=True):
            for j in range(count):
                area = SHOP_AREAS[j] if j < len(SHOP_AREAS) else f"第{j + 1}"
                sid = len(rows) + 1
                rows.append((sid, f"{bcode}-{j + 1:03d}", f"{city}{area}店", "shop", bid, True,
                             created))  # fmt: skip
                self.shop_ids.append(sid)
        assert len(rows) == n, (len(rows), n)

    def plan_users(self) -> None:
        n = self.sizes.users
        rng = self.rng(2)
        n_admins = 2
        n_curators = max(2, n // 500)
        created = _dt(self.now_us - 3 * 365 * DAY_US - 30 * DAY_US)
        qc, it = 2, (3 if self.unit_rows[2][3] == "department" else 2)
        shop_weights = list(accumulate(rng.uniform(0.4, 2.5) for _ in self.shop_ids))
        unit_of = array("i", [0] * (n + 1))
        for uid in range(1, n + 1):
            if uid <= n_admins:
                role, unit = "admin", it
            elif uid <= n_admins + n_curators:
                role, unit = "curator", qc
            else:
                role = "staff"
                if rng.random() < 0.05:
                    unit = rng.choice(self.branch_ids)
                else:
                    unit = rng.choices(self.shop_ids, cum_weights=shop_weights)[0]
            unit_of[uid] = unit
            active = role != "staff" or rng.random() >= 0.02
            code = f"E{100000 + uid}"
            name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN_NAMES)}"
            email = f"{code.lower()}@example.jp" if rng.random() < 0.9 else None
            locale = "en" if rng.random() < 0.02 else "ja"
            self.user_rows.append(
                (uid, code, name, email, unit, role, locale, active, self.password_hash, created)
            )
            if role == "staff":
                self.staff_ids.append(uid)
                if active and len(self.token_user_ids) < self.sizes.tokens:
                    self.token_user_ids.append(uid)
            else:
                self.curator_ids.append(uid)
        self.user_unit = unit_of

    # -- posts and their counters -------------------------------------------------------

    def plan_posts(self) -> None:
        s = self.sizes
        n = s.posts
        rng = self.rng(3)
        # Created in the last three years, mostly in Tokyo business hours, ids in time order.
        start = self.now_us - 3 * 365 * DAY_US
        hours = list(range(24))
        hour_w = list(accumulate([1, 1, 1, 1, 1, 1, 2, 4, 10, 30, 40, 40, 30, 35, 40, 40, 35,
                                  30, 20, 10, 6, 4, 2, 1]))  # fmt: skip
        days = (self.now_us - start) // DAY_US
        jst_offset = 9 * 3600 * US
        times = []
        for _ in range(n):
            day = start + rng.randrange(days) * DAY_US
            day -= (day + jst_offset) % DAY_US  # midnight in Tokyo
            hour = rng.choices(hours, cum_weights=hour_w)[0]
            t = day + hour * 3600 * US + rng.randrange(3600 * US)
            times.append(min(t, self.now_us - rng.randrange(60 * US, 3600 * US)))
        times.sort()
        self.post_created = array("q", times)
        self.post_kind = bytearray(1 if rng.random() < s.praise_share else 0 for _ in range(n))
        self.post_status = bytearray(
            1 if (x := rng.random()) < 0.01 else 2 if x < 0.02 else 0 for _ in range(n)
        )
        # Authors: a few enthusiastic posters write much of the board.
        activity = list(accumulate(rng.lognormvariate(0, 1.2) for _ in self.staff_ids))
        self.post_author = array("i", rng.choices(self.staff_ids, cum_weights=activity, k=n))

        eligible = [i for i in range(n) if self.post_status[i] != 1]  # drafts: no reactions
        published = [i for i in eligible if self.post_status[i] == 0]
        self.like_counts = self._spread(rng, eligible, s.likes, cap=s.users, sigma=1.6)
        # A handful of posts with exactly 200 comments (the post-page benchmark).
        n_big = min(5, s.comments // 400, len(published))
        big = sorted(rng.sample(published, n_big))
        self.big_comment_posts = big
        rest = sorted(set(eligible) - set(big))
        counts = self._spread(rng, rest, s.comments - 200 * n_big, cap=150, sigma=1.2)
        for i in big:
            counts[i] = 200
        self.comment_counts = counts
        # Tags on about 30% of the posts, planned here as the post rows carry their names.
        rng = self.rng(9)
        tag_cum = list(accumulate(w for _n, w in TAGS))
        tag_ids = list(range(1, len(TAGS) + 1))
        for i in range(n):
            if rng.random() < 0.3:
                chosen = set(rng.choices(tag_ids, cum_weights=tag_cum, k=rng.randint(1, 3)))
                self.post_tag_ids[i] = tuple(sorted(chosen, key=lambda t: TAGS[t - 1][0]))

    def _spread(
        self, rng: random.Random, idx: list[int], total: int, *, cap: int, sigma: float
    ) -> array[int]:
        """Exactly `total` over the posts `idx`, skewed (log-normal), at most `cap` each."""
        counts = array("i", [0] * self.sizes.posts)
        if total == 0:
            return counts
        if total > cap * len(idx):
            raise SeedRefused(f"cannot place {total} rows on {len(idx)} posts (at most {cap} each)")
        weights = [rng.lognormvariate(0, sigma) for _ in idx]
        scale = total / sum(weights)
        placed = 0
        for i, w in zip(idx, weights, strict=True):
            c = min(cap, int(w * scale))
            counts[i] = c
            placed += c
        cum = list(accumulate(weights))
        while placed < total:  # the remainder goes to posts in proportion to their weight
            i = idx[min(bisect_right(cum, rng.random() * cum[-1]), len(idx) - 1)]
            if counts[i] < cap:
                counts[i] += 1
                placed += 1
        return counts

    def posts(self) -> Iterator[Row]:
        rng = self.rng(4)
        text = TextGen(self.rng(5))
        ch_names, ch_cum = _cum(CHANNELS)
        pr_names, pr_cum = _cum(PRODUCTS)
        cat_names, cat_cum = _cum(CATEGORIES)
        curators = self.curator_ids
        for i in range(self.sizes.posts):
            created_us = self.post_created[i]
            created = _dt(created_us)
            status = self.STATUS[self.post_status[i]]
            received = channel = product = category = None
            if self.post_kind[i]:
                kind = "praise"
                channel = rng.choices(ch_names, cum_weights=ch_cum)[0]
                product = (
                    rng.choices(pr_names, cum_weights=pr_cum)[0] if rng.random() < 0.85 else None
                )
                title, body = text.praise(product, channel)
                x = rng.random()
                back = 0 if x < 0.5 else rng.randint(1, 3) if x < 0.85 else rng.randint(4, 30)
                received = created.astimezone(JST).date() - timedelta(days=back)
            else:
                kind = "knowhow"
                category = rng.choices(cat_names, cum_weights=cat_cum)[0]
                title, body = text.knowhow()
            edited = _dt(min(created_us + rng.randrange(60 * US, DAY_US), self.now_us)) \
                if rng.random() < 0.05 else None  # fmt: skip
            published = created if status != "draft" else None
            featured = status == "published" and rng.random() < 0.005
            f_note = f_by = f_at = None
            if featured:
                f_note, f_by = rng.choice(FEATURE_NOTES), rng.choice(curators)
                f_at = _dt(min(created_us + rng.randrange(DAY_US, 10 * DAY_US), self.now_us))
            h_reason = h_by = h_at = None
            if status == "hidden":
                h_reason, h_by = rng.choice(HIDDEN_REASONS), rng.choice(curators)
                h_at = _dt(min(created_us + rng.randrange(3600 * US, 3 * DAY_US), self.now_us))
            author = self.post_author[i]
            row: Row = (
                i + 1, kind, title, body, author, self.user_unit[author], status, created,
                edited or created, edited, published, received, channel, product, category,
                featured, f_note, f_by, f_at, h_reason, h_by, h_at,
                self.like_counts[i], self.comment_counts[i],
            )  # fmt: skip
            if self.post_extras:
                extra = {
                    "body_html": render_markdown(body),
                    "tag_names": "\t".join(TAGS[t - 1][0] for t in self.post_tag_ids.get(i, ())),
                    "search_text": indexed_text(title, body),
                }
                row += tuple(extra[c] for c in self.post_extras)
            yield row

    POST_COLUMNS = (
        "id", "kind", "title", "body", "author_id", "unit_id", "status", "created_at",
        "updated_at", "edited_at", "published_at", "received_on", "channel", "product",
        "category", "featured", "feature_note", "featured_by_id", "featured_at", "hidden_reason",
        "hidden_by_id", "hidden_at", "like_count", "comment_count",
    )  # fmt: skip

    def _reaction_time(self, rng: random.Random, post_us: int, mean_days: float) -> int:
        return min(post_us + int(rng.expovariate(1 / mean_days) * DAY_US) + US, self.now_us)

    def likes(self) -> Iterator[Row]:
        rng = self.rng(6)
        users = range(1, self.sizes.users + 1)
        for i, k in enumerate(self.like_counts):
            if k:
                post_us = self.post_created[i]
                for uid in rng.sample(users, k):
                    yield (i + 1, uid, _dt(self._reaction_time(rng, post_us, 2.0)))

    def comments(self) -> Iterator[Row]:
        rng = self.rng(7)
        text = TextGen(self.rng(8))
        users = self.sizes.users
        cid = 0
        html = self.comment_extras == ("body_html",)
        rendered: dict[str, str] = {}  # a few hundred distinct comments: render each once
        for i, k in enumerate(self.comment_counts):
            if k:
                post_us = self.post_created[i]
                times = sorted(self._reaction_time(rng, post_us, 3.0) for _ in range(k))
                for t in times:
                    cid += 1
                    author = rng.randint(1, users)
                    body = text.comment()
                    if html:
                        if body not in rendered:
                            rendered[body] = render_comment(body)
                        yield (cid, i + 1, author, body, "published", _dt(t), rendered[body])
                    else:
                        yield (cid, i + 1, author, body, "published", _dt(t))

    def post_tags(self) -> Iterator[Row]:
        for i, tag_ids in sorted(self.post_tag_ids.items()):
            for t in tag_ids:
                yield (i + 1, t)

    def post_praised(self) -> Iterator[Row]:
        rng = self.rng(10)
        colleagues: dict[int, list[int]] = {}
        for uid in self.staff_ids:
            colleagues.setdefault(self.user_unit[uid], []).append(uid)
        for i in range(self.sizes.posts):
            if self.post_kind[i] and rng.random() < 0.35:
                author = self.post_author[i]
                mates = [u for u in colleagues.get(self.user_unit[author], []) if u != author]
                if mates:
                    for uid in sorted(rng.sample(mates, min(len(mates), rng.randint(1, 2)))):
                        yield (i + 1, uid)

    def tags(self) -> Iterator[Row]:
        for i, (name, _w) in enumerate(TAGS, start=1):
            yield (i, name)

    def tokens(self) -> tuple[list[Row], list[tuple[str, str]]]:
        rows: list[Row] = []
        issued: list[tuple[str, str]] = []
        created = _dt(self.now_us)
        for n, uid in enumerate(self.token_user_ids, start=1):
            token = new_token(TOKEN_PREFIX)
            prefix = token[: len(TOKEN_PREFIX) + 4]
            rows.append((n, uid, "bench", token_digest(token), prefix, "write", created))
            issued.append((f"E{100000 + uid}", token))
        return rows, issued


# ---------------------------------------------------------------------------------------
# Writing: PostgreSQL COPY, or SQLite batches
# ---------------------------------------------------------------------------------------


class Sink(Protocol):
    def load(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int: ...


def _progress(table: str, rows: Iterable[Row], every: int) -> Iterator[Row]:
    started = time.perf_counter()
    n = 0
    for n, row in enumerate(rows, start=1):
        yield row
        if n % every == 0:
            rate = n / max(time.perf_counter() - started, 1e-9)
            click.echo(f"  {table}: {n:,} rows ({rate:,.0f} rows/s)")


class PgSink:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        n = 0
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                n += 1
        return n


class SqliteSink:
    BATCH = 5000

    def __init__(self, conn: sa.Connection, metadata: sa.MetaData) -> None:
        self.conn = conn
        self.metadata = metadata

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        insert = self.metadata.tables[table].insert()
        n = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= self.BATCH:
                self.conn.execute(insert, batch)
                n += len(batch)
                batch = []
        if batch:
            self.conn.execute(insert, batch)
            n += len(batch)
        return n


USER_COLUMNS: tuple[str, ...] = (
    "id",
    "code",
    "name",
    "email",
    "unit_id",
    "role",
    "locale",
    "active",
)
USER_COLUMNS += ("password_hash", "created_at")
LOAD_ORDER: list[tuple[str, tuple[str, ...]]] = [
    ("org_units", ("id", "code", "name", "kind", "parent_id", "active", "created_at")),
    ("users", USER_COLUMNS),
    ("tags", ("id", "name")),
    ("posts", BenchData.POST_COLUMNS),
    ("likes", ("post_id", "user_id", "created_at")),
    ("comments", ("id", "post_id", "author_id", "body", "status", "created_at")),
    ("post_tags", ("post_id", "tag_id")),
    ("post_praised", ("post_id", "user_id")),
    ("api_tokens", ("id", "user_id", "name", "token_hash", "prefix", "scope", "created_at")),
]
BULK_TABLES = ("posts", "likes", "comments", "post_tags", "post_praised")
SERIAL_TABLES = ("org_units", "users", "tags", "posts", "comments", "api_tokens")


def _load_all(sink: Sink, data: BenchData, token_rows: list[Row]) -> dict[str, tuple[int, float]]:
    streams: dict[str, Iterable[Row]] = {
        "org_units": data.unit_rows,
        "users": data.user_rows,
        "tags": data.tags(),
        "posts": data.posts(),
        "likes": data.likes(),
        "comments": data.comments(),
        "post_tags": data.post_tags(),
        "post_praised": data.post_praised(),
        "api_tokens": token_rows,
    }
    every = max(100_000, data.sizes.posts // 5)
    stats: dict[str, tuple[int, float]] = {}
    extras = {"posts": data.post_extras, "comments": data.comment_extras}
    for table, base_columns in LOAD_ORDER:
        columns = base_columns + extras.get(table, ())
        started = time.perf_counter()
        n = sink.load(table, columns, _progress(table, streams[table], every))
        elapsed = time.perf_counter() - started
        stats[table] = (n, elapsed)
        click.echo(f"{table}: {n:,} rows in {elapsed:.1f} s ({n / max(elapsed, 1e-9):,.0f} rows/s)")
    return stats


# Nullable columns the data set leaves empty on purpose.
OPTIONAL_COLUMNS = {
    "users": {"sso_subject"},
    "comments": {"edited_at", "hidden_reason"},
    "api_tokens": {"expires_at", "last_used_at", "revoked_at"},
}


def _use_columns(data: BenchData, columns: dict[str, set[str]]) -> None:
    """Fill the rendered-HTML columns where the schema has them; name what is left out."""
    data.post_extras = tuple(
        c for c in ("body_html", "tag_names", "search_text") if c in columns["posts"]
    )
    data.comment_extras = tuple(c for c in ("body_html",) if c in columns["comments"])
    extras = {"posts": data.post_extras, "comments": data.comment_extras}
    for table, cols in LOAD_ORDER:
        unknown = columns.get(table, set()) - set(cols) - set(extras.get(table, ()))
        unknown -= OPTIONAL_COLUMNS.get(table, set())
        if unknown:
            click.echo(f"note: {table}.{', '.join(sorted(unknown))} left at the column default")


def _pg_conninfo(settings: Settings) -> str:
    url = sa.make_url(settings.sync_database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pg_deferred_ddl(cur: Any) -> list[tuple[str, list[str]]]:
    """Foreign keys and plain secondary indexes of the bulk tables: (drop, create) statements.

    Checking a foreign key row by row and growing GIN/btree indexes row by row cost more than
    building them once after the COPY; primary keys and unique indexes stay in place.
    """
    cur.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])",
        (list(BULK_TABLES),),
    )
    ddl = [
        (
            f'ALTER TABLE {t} DROP CONSTRAINT "{name}"',
            [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}'],
        )
        for t, name, d in cur.fetchall()
    ]
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
        "  ARRAY(SELECT format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS %%s', "
        "                      i.indexrelid::regclass, a.attnum, a.attstattarget) "
        "        FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) "
        "FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(BULK_TABLES),),
    )
    # Per-column statistics targets (ALTER INDEX ... SET STATISTICS) are not in the index
    # definition: they are carried over explicitly.
    ddl += [(f"DROP INDEX {name}", [d, *stats]) for name, d, stats in cur.fetchall()]
    return ddl


def _pg_schema_snapshot(cur: Any) -> list[str]:
    """Indexes (with statistics targets) and constraints of the bulk tables, to compare."""
    cur.execute(
        "SELECT pg_get_indexdef(i.indexrelid) || ' ' || COALESCE(ARRAY(SELECT a.attstattarget "
        "  FROM pg_attribute a WHERE a.attrelid = i.indexrelid ORDER BY a.attnum)::text, '') "
        "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) "
        "UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || "
        "  pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])",
        (list(BULK_TABLES), list(BULK_TABLES)),
    )
    return sorted(r[0] for r in cur.fetchall())


def _inspect(settings: Settings) -> dict[str, set[str]]:
    """The columns of the tables to fill; refuse a database without schema or with data."""
    engine = sa.create_engine(settings.sync_database_url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            if "posts" not in set(inspector.get_table_names()):
                raise SeedRefused("no schema here: run `arigato db upgrade` first")
            found = {
                t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("posts", "users", "org_units")
            }
            if any(found.values()):
                have = ", ".join(f"{n} {t}" for t, n in found.items())
                raise SeedRefused(f"bench-seed needs an empty database (found {have})")
            return {t: {c["name"] for c in inspector.get_columns(t)} for t, _c in LOAD_ORDER}
    finally:
        engine.dispose()


def _seed_postgres(
    settings: Settings, data: BenchData, token_rows: list[Row], keep_indexes: bool
) -> None:
    import psycopg

    with psycopg.connect(_pg_conninfo(settings)) as conn:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '1GB'")
            schema_before = _pg_schema_snapshot(cur)
            deferred = [] if keep_indexes else _pg_deferred_ddl(cur)
            for drop, _create in deferred:
                cur.execute(drop)
        started = time.perf_counter()
        _load_all(PgSink(conn), data, token_rows)
        with conn.cursor() as cur:
            if deferred:
                t0 = time.perf_counter()
                for _drop, creates in deferred:
                    for create in creates:
                        t1 = time.perf_counter()
                        cur.execute(create)
                        if (took := time.perf_counter() - t1) >= 1:
                            click.echo(f"  {took:6.1f} s  {create[:90]}")
                if _pg_schema_snapshot(cur) != schema_before:  # rolls everything back
                    raise RuntimeError("indexes or constraints differ after the rebuild")
                click.echo(
                    f"indexes and foreign keys rebuilt in {time.perf_counter() - t0:.1f} s "
                    f"({len(deferred)} statements)"
                )
            for table in SERIAL_TABLES:
                cur.execute(  # table names from the constant above, never from input
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
        conn.commit()
        click.echo(f"committed after {time.perf_counter() - started:.1f} s of loading")
    t0 = time.perf_counter()
    with psycopg.connect(_pg_conninfo(settings), autocommit=True) as conn:
        for table, _cols in LOAD_ORDER:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    click.echo(f"VACUUM (ANALYZE) in {time.perf_counter() - t0:.1f} s")


def _seed_sqlite(settings: Settings, data: BenchData, token_rows: list[Row]) -> None:
    from sqlmodel import SQLModel

    import app.models  # noqa: F401 - registers every table on the metadata

    engine = sa.create_engine(settings.sync_database_url)
    try:
        with engine.begin() as conn:
            _load_all(SqliteSink(conn, SQLModel.metadata), data, token_rows)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


@click.command("bench-seed")
@click.option("--units", default=400, show_default=True, type=click.IntRange(5, 100_000))
@click.option("--users", default=5000, show_default=True, type=click.IntRange(10, 10_000_000))
@click.option("--posts", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--likes", default=5_000_000, show_default=True, type=click.IntRange(0))
@click.option("--comments", default=1_000_000, show_default=True, type=click.IntRange(0))
@click.option("--praise-share", default=0.7, show_default=True, type=click.FloatRange(0.0, 1.0))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--tokens-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Issue write tokens for the first --tokens staff users; write CODE<TAB>TOKEN lines.",
)
@click.option("--tokens", "n_tokens", default=1000, show_default=True, type=click.IntRange(0))
@click.option(
    "--keep-indexes",
    is_flag=True,
    help="PostgreSQL: COPY with every index and foreign key in place (slower).",
)
def bench_seed(
    units: int,
    users: int,
    posts: int,
    likes: int,
    comments: int,
    praise_share: float,
    seed: int,
    tokens_file: Path | None,
    n_tokens: int,
    keep_indexes: bool,
) -> None:
    """Fill an EMPTY database with the benchmark data set (SPEC §8), all or nothing."""
    from app.cli.main import BadInput

    sizes = Sizes(units, users, posts, likes, comments, praise_share, seed, n_tokens)
    try:
        _seed(sizes, tokens_file, keep_indexes)
    except SeedRefused as exc:
        raise BadInput(str(exc)) from exc


def _seed(sizes: Sizes, tokens_file: Path | None, keep_indexes: bool) -> None:
    settings = get_settings()
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    columns = _inspect(settings)
    data = BenchData(sizes, _us(now), hash_password(BENCH_PASSWORD))
    _use_columns(data, columns)
    data.plan_units()
    data.plan_users()
    data.plan_posts()
    click.echo(f"planned in {time.perf_counter() - started:.1f} s; loading ...")
    token_rows, issued = data.tokens() if tokens_file else ([], [])
    if settings.is_sqlite:
        _seed_sqlite(settings, data, token_rows)
    else:
        _seed_postgres(settings, data, token_rows, keep_indexes)
    if tokens_file:
        fd = os.open(tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{code}\t{token}\n" for code, token in issued)
        click.echo(f"{len(issued)} write token(s) in {tokens_file}")
    elapsed = time.perf_counter() - started
    n_pub = sum(1 for s in data.post_status if s == 0)
    n_praise = sum(data.post_kind)
    click.echo(
        f"done in {elapsed:.1f} s: {sizes.units:,} units, {sizes.users:,} users, "
        f"{sizes.posts:,} posts ({n_praise / sizes.posts:.1%} praise, {n_pub:,} published), "
        f"{sizes.likes:,} likes, {sizes.comments:,} comments"
    )
    click.echo(f"password of every seeded user: {BENCH_PASSWORD}")
    first = {role: code for _id, code, _n, _e, _u, role, *_rest in reversed(data.user_rows)}
    click.echo(
        f"logins: staff {first['staff']}, curator {first['curator']}, admin {first['admin']}"
    )
    big = ", ".join(str(i + 1) for i in data.big_comment_posts) or "none"
    click.echo(f"posts with exactly 200 comments: {big}")
    click.echo(f"search terms: common {' '.join(COMMON_TERMS)}; rare {RARE_TERM}")


if __name__ == "__main__":
    bench_seed()
