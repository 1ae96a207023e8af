"""A Japanese demo company: units, users of every role, posts, likes, reactions, comments and
a flag.

Everything a user would write goes through the services (validation, rendered HTML, tags,
counters, search indexes); only the timestamps are moved into the past afterwards, so that
the feed looks like two months of use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.models import OrgUnit, Post, ReactionKind, User
from app.models.base import utcnow
from app.models.tables import likes as likes_table
from app.models.tables import reactions as reactions_table
from app.security import hash_password
from app.services import comments as comment_service
from app.services import flags, likes, reactions
from app.services import posts as post_service

DEMO_PASSWORD = "arigato-demo"
# Every demo staff member's PIN for a shop's shared terminal (docs/terminal.md).
DEMO_PIN = "2580"

UNITS = [  # code, name, kind, parent
    ("HQ", "ありがとう保険サービス株式会社", "company", None),
    ("HQ-QC", "本社 品質・コンプライアンス部", "department", "HQ"),
    ("R-KANTO", "関東地域", "region", "HQ"),
    ("R-KANSAI", "関西地域", "region", "HQ"),
    ("B-TKY", "東京支店", "branch", "R-KANTO"),
    ("B-YKH", "横浜支店", "branch", "R-KANTO"),
    ("B-OSK", "大阪支店", "branch", "R-KANSAI"),
    ("TKY-001", "新宿店", "shop", "B-TKY"),
    ("TKY-002", "渋谷店", "shop", "B-TKY"),
    ("YKH-001", "みなとみらい店", "shop", "B-YKH"),
    ("OSK-001", "梅田店", "shop", "B-OSK"),
    ("OSK-002", "なんば店", "shop", "B-OSK"),
    # added later: more shops and the 中部 region
    ("R-CHUBU", "中部地域", "region", "HQ"),
    ("B-NGY", "名古屋支店", "branch", "R-CHUBU"),
    ("TKY-003", "池袋店", "shop", "B-TKY"),
    ("YKH-002", "川崎店", "shop", "B-YKH"),
    ("NGY-001", "名駅店", "shop", "B-NGY"),
    ("NGY-002", "栄店", "shop", "B-NGY"),
]

USERS = [  # code, name, unit, role: README.md lists them all (tests/test_docs.py checks)
    ("admin", "システム 管理者", "HQ", "admin"),
    ("curator", "本社 花子", "HQ-QC", "curator"),
    ("E1001", "山田 太郎", "TKY-001", "staff"),
    ("E1002", "佐藤 美咲", "TKY-001", "staff"),
    ("E1003", "鈴木 一郎", "TKY-002", "staff"),
    ("E1004", "高橋 由美", "YKH-001", "staff"),
    ("E1005", "田中 健太", "OSK-001", "staff"),
    ("E1006", "伊藤 さくら", "OSK-002", "staff"),
    ("E1007", "中村 翔太", "TKY-002", "staff"),
    ("E1008", "小林 優子", "TKY-003", "staff"),
    ("E1009", "加藤 大輔", "TKY-003", "staff"),
    ("E1010", "吉田 真由美", "YKH-001", "staff"),
    ("E1011", "山本 拓也", "YKH-002", "staff"),
    ("E1012", "松本 彩", "NGY-001", "staff"),
    ("E1013", "井上 誠", "NGY-001", "staff"),
    ("E1014", "木村 結衣", "NGY-002", "staff"),
    ("E1015", "林 浩二", "OSK-001", "staff"),
    ("E1016", "清水 美穂", "OSK-002", "staff"),
]

# Who may like demo posts (everyone but the system administrator), in a fixed order.
LIKERS = [code for code, _name, _unit, role in USERS if role != "admin"]


@dataclass(frozen=True)
class DemoPost:
    author: str
    days_ago: int  # 0 = today: only for drafts, which are placed a few hours back
    at: str  # local time of day, "HH:MM"
    fields: dict[str, Any]
    likes: int = 0
    comments: tuple[tuple[str, str], ...] = ()
    heard_days_before: int = 0  # praise: days between the customer's words and the post
    flag: tuple[str, str] | None = None  # reporter, note


def praise(
    author: str,
    days_ago: int,
    at: str,
    title: str,
    body: str,
    *,
    channel: str,
    product: str | None = None,
    praised: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    heard_days_before: int = 0,
    likes: int = 0,
    comments: tuple[tuple[str, str], ...] = (),
    draft: bool = False,
    flag: tuple[str, str] | None = None,
) -> DemoPost:
    fields: dict[str, Any] = {
        "kind": "praise",
        "title": title,
        "body": body,
        "channel": channel,
        "product": product,
        "praised": list(praised),
        "tags": list(tags),
        "confirm_personal_data": True,
    }
    if draft:
        fields["status"] = "draft"
    return DemoPost(author, days_ago, at, fields, likes, comments, heard_days_before, flag)


def knowhow(
    author: str,
    days_ago: int,
    at: str,
    title: str,
    body: str,
    *,
    category: str,
    tags: tuple[str, ...] = (),
    likes: int = 0,
    comments: tuple[tuple[str, str], ...] = (),
    draft: bool = False,
) -> DemoPost:
    fields: dict[str, Any] = {
        "kind": "knowhow",
        "title": title,
        "body": body,
        "category": category,
        "tags": list(tags),
    }
    if draft:
        fields["status"] = "draft"
    return DemoPost(author, days_ago, at, fields, likes, comments)


# Oldest first, so that ids grow with the creation time like on a real board.
POSTS = [
    praise(
        "E1001",
        58,
        "10:20",
        "夜間の事故受付に「落ち着けた」とお礼のお電話",
        "先日、駐車場での接触事故のご連絡をくださったお客さまから、改めてお電話をいただきました。\n"
        "「気が動転していたけれど、佐藤さんが一つずつ順番に聞いてくれたので落ち着けた。"
        "本当にありがとうございました」とのことです。\n\n"
        "受付では、お怪我の有無 → 安全な場所への移動 → 警察への届出 の順に、"
        "短くお伝えするようにしています。佐藤さん、遅い時間の対応ありがとうございました！",
        channel="phone",
        product="auto",
        praised=("E1002",),
        tags=("事故対応", "自動車保険", "電話対応"),
        heard_days_before=1,
        likes=9,
        comments=(
            (
                "E1004",
                "順番を決めて聞くの、大事ですね。うちの店でも受付の流れを見直してみます。",
            ),
            ("E1002", "ありがとうございます。お客さまの声を聞けて励みになりました。"),
        ),
    ),
    knowhow(
        "E1003",
        56,
        "17:45",
        "事故受付の聞き取りシートを1枚にしました",
        "## 課題\n"
        "事故のご連絡を受けたとき、担当によって聞き取る項目にばらつきがあり、"
        "保険会社への報告で**聞き漏れ**が出ていました。\n\n"
        "## 工夫\n"
        "- A4一枚の「事故受付 聞き取りシート」を作成（日時・場所・相手の有無・お怪我・"
        "警察への届出・お車の状態）\n"
        "- 上から順に聞けば漏れないよう、**聞く順番**どおりに項目を並べた\n"
        "- 電話の横に常備し、受付後はすぐに店舗の共有フォルダへ保存\n\n"
        "## 成果\n"
        "- 保険会社からの確認の折り返しが約半分に\n"
        "- 新人スタッフも落ち着いて受付できるようになりました\n\n"
        "シートの雛形は店舗フォルダに置いてあります。ご自由にお使いください。",
        category="tool",
        tags=("事故対応", "チェックリスト", "好事例候補"),
        likes=14,
        comments=(
            ("E1007", "渋谷店で使い始めて1か月ですが、本当に聞き漏れが減りました。"),
            ("E1012", "名古屋でも使わせてください！ 雛形の場所を教えていただけますか？"),
            (
                "E1003",
                "@E1012 共有フォルダの「事故受付」にあります。店舗名を入れ替えてお使いください。",
            ),
        ),
    ),
    praise(
        "E1005",
        54,
        "11:05",
        "火災保険の更新で「図で分かった」とお手紙",
        "火災保険の更新手続きでご来店いただいたご夫婦から、お手紙が届きました。\n"
        "「建物と家財の違いを図に描いて説明してくださり、初めてちゃんと分かりました。"
        "丁寧な対応に感謝しています」と書かれていました。\n\n"
        "林さんが手書きで描いた図を、お客さまは大切に保管してくださっているそうです。",
        channel="letter",
        product="fire",
        praised=("E1015",),
        tags=("火災保険", "丁寧な説明", "お手紙"),
        heard_days_before=3,
        likes=8,
        comments=(("E1006", "手書きの図、温かみがあっていいですね。"),),
    ),
    praise(
        "E1004",
        52,
        "15:30",
        "満期案内が分かりやすかったとアンケートに",
        "自動車保険の満期案内で、補償の変更点を一枚にまとめてお渡ししたところ、"
        "アンケートに「毎年一番分かりやすい説明です。ありがとうございます」と書いていただきました。\n"
        "吉田さんと一緒に作った一枚まとめが、少しずつ形になってきました。",
        channel="survey",
        product="auto",
        praised=("E1010",),
        tags=("満期案内", "自動車保険", "アンケート"),
        heard_days_before=5,
        likes=11,
    ),
    knowhow(
        "E1010",
        50,
        "18:10",
        "満期案内は「変わる点だけ一枚」にまとめる",
        "## 課題\n"
        "満期案内の説明が長くなり、お客さまが要点をつかみにくい。"
        "特にご高齢のお客さまからは「結局何が変わるの？」と聞かれることが多くありました。\n\n"
        "## 工夫\n"
        "- 前年からの**変更点だけ**をA4一枚にまとめる\n"
        "- 保険料の差額は大きな数字で示し、理由を一行で添える\n"
        "- 「変わらないこと」も最後に一言書いて、安心していただく\n\n"
        "## 成果\n"
        "- 説明時間が平均10分短くなりました\n"
        "- アンケートの「分かりやすさ」の評価が上がりました",
        category="tool",
        tags=("満期案内", "説明資料", "好事例候補"),
        likes=16,
        comments=(
            (
                "E1001",
                "変更点だけ一枚、とても分かりやすいですね。テンプレートを共有いただけますか？",
            ),
            ("E1010", "@E1001 はい、共有フォルダの「満期案内」に置きました。"),
            ("E1014", "「変わらないこと」も書く、というのが安心につながりそうですね。"),
        ),
    ),
    praise(
        "E1012",
        48,
        "13:40",
        "生命保険の見直しで「無理に勧めないのがありがたい」",
        "お子さまの独立を機に、生命保険の見直しでご来店されたお客さまから、お帰りの際に"
        "「必要な保障とそうでない保障をはっきり言ってくれて、無理に勧めないのがありがたい」"
        "とお言葉をいただきました。\n"
        "井上さんが、今の保障で足りている部分をまず説明したのが良かったようです。",
        channel="counter",
        product="life",
        praised=("E1013",),
        tags=("生命保険", "保険の見直し", "丁寧な説明"),
        likes=7,
    ),
    knowhow(
        "E1006",
        46,
        "09:15",
        "地震保険の説明に被害事例の写真を使う",
        "## 課題\n"
        "地震保険の必要性がなかなか伝わらない。"
        "「火災保険に入っているから大丈夫」と思われているお客さまも多くいらっしゃいます。\n\n"
        "## 工夫\n"
        "- 公表されている被害事例の写真を使い、**火災保険だけでは補償されない**ことを具体的に説明\n"
        "- 地震保険は火災保険の保険金額の30〜50%の範囲で付けられることを図で示す\n"
        "- 最後に「ご家族と相談してからでも大丈夫です」とお伝えする\n\n"
        "## 成果\n"
        "更新時の地震保険の付帯率が前年より上がりました。",
        category="knowledge",
        tags=("地震保険", "説明資料"),
        likes=12,
        comments=(
            ("E1016", "写真があると一気に伝わりますね。"),
            ("curator", "公表資料を使う点も良いですね。資料には出典の記載もお忘れなく。"),
        ),
    ),
    praise(
        "E1008",
        44,
        "16:25",
        "外国籍のお客さまに「やさしい日本語」でご説明",
        "日本で初めて車を買われた外国籍のお客さまが、自動車保険のご相談でご来店されました。\n"
        "専門用語をできるだけ使わず、短い文と図で説明したところ、"
        "「とても分かりやすかった。ありがとうございました」と笑顔でおっしゃってくださいました。\n\n"
        "翻訳アプリも使いながら、加藤さんと二人で対応しました。",
        channel="counter",
        product="auto",
        praised=("E1009",),
        tags=("外国籍のお客さま", "やさしい日本語", "自動車保険"),
        likes=10,
        comments=(("E1011", "やさしい日本語、研修で習いましたが実践例があると心強いです。"),),
    ),
    knowhow(
        "E1013",
        42,
        "12:30",
        "ご高齢のお客さまへのお電話は「要点3つ」",
        "## 課題\n"
        "ご高齢のお客さまへのお電話で、一度に多くをお伝えすると、後から"
        "「何の電話だったか分からない」とご家族からお問い合わせをいただくことがありました。\n\n"
        "## 工夫\n"
        "- 最初に「今日のご連絡は**3つ**です」と数を伝える\n"
        "- 1つ話すごとに「ここまでよろしいですか」と確認する\n"
        "- 大切な点は、後日**大きな文字のお手紙**でもお送りする\n\n"
        "## 成果\n"
        "ご家族からのお問い合わせが減り、「電話の後にお手紙が届くので安心」とのお声もいただきました。",
        category="skill",
        tags=("高齢のお客さま", "電話対応", "好事例候補"),
        likes=15,
        comments=(
            ("E1005", "数を先に伝えるの、すぐ真似できますね。"),
            ("E1002", "新宿店の朝礼で紹介させていただきました！"),
        ),
    ),
    praise(
        "E1015",
        40,
        "10:50",
        "台風の翌日にすぐ伺ったことへのお礼",
        "台風の翌日、田中さんがお客さまのお宅に伺い、カーポートの被害状況を一緒に確認しました。\n"
        "後日、「すぐに来てくれて心強かった。写真の撮り方まで教えてもらって助かりました」"
        "とお電話をいただきました。\n\n"
        "保険金のお支払いまでの流れを最初にお伝えしたことで、安心していただけたようです。",
        channel="phone",
        product="fire",
        praised=("E1005",),
        tags=("火災保険", "自然災害", "事故対応"),
        heard_days_before=1,
        likes=9,
    ),
    praise(
        "E1002",
        38,
        "17:05",
        "店頭で「また来ます」とお声がけいただきました",
        "ご家族の保険の見直しでご来店されたお客さまから、帰り際に"
        "「説明がとても丁寧で安心しました。ありがとう。また来ます」とお声がけいただきました。\n"
        "パンフレットに付箋を貼って、ご家族に説明するときのポイントをお渡ししたのが良かったようです。",
        channel="counter",
        product="life",
        tags=("保険の見直し", "丁寧な説明"),
        likes=6,
    ),
    knowhow(
        "E1011",
        36,
        "19:20",
        "事故後のご連絡は、公式LINEで「次にやること」を一言",
        "## 課題\n"
        "事故の後、お客さまはお仕事中でお電話に出られないことが多く、"
        "連絡がつくまでに時間がかかっていました。\n\n"
        "## 工夫\n"
        "- お客さまの同意をいただいたうえで、会社が認めた**公式LINEアカウント**からご連絡\n"
        "- メッセージは「今の状況」と「次にお願いしたいこと」の**2行だけ**\n"
        "- お名前や金額などはLINEに書かず、詳しくはお電話か店頭で\n\n"
        "## 成果\n"
        "- 既読になるので、連絡がついたかどうかがすぐ分かる\n"
        "- お客さまから「電話に出られなくても状況が分かって安心」とのお声",
        category="tool",
        tags=("事故対応", "LINE", "連絡の工夫"),
        likes=13,
        comments=(
            ("E1009", "「2行だけ」のルール、いいですね。"),
            (
                "curator",
                "個人情報を書かないルールまで徹底されていて素晴らしいです。"
                "好取組情報で紹介させてください。",
            ),
        ),
    ),
    praise(
        "E1014",
        34,
        "14:15",
        "アンケートに「説明が丁寧で分かりやすい」",
        "自動車保険を更新されたお客さまのアンケートに、"
        "「毎回、補償内容を丁寧に説明してくれるので安心して任せられます。いつもありがとうございます」"
        "とのコメントをいただきました。\n"
        "栄店では、更新のたびに運転される方の範囲と年齢条件を必ず確認するようにしています。",
        channel="survey",
        product="auto",
        tags=("自動車保険", "アンケート", "丁寧な説明"),
        heard_days_before=4,
        likes=7,
    ),
    praise(
        "E1009",
        32,
        "11:35",
        "傷害保険のご請求で、ご自宅まで伺ったことへのお礼",
        "階段で転んで手首を骨折されたお客さまが、傷害保険のご請求書類を書くのが難しいとのことで、"
        "小林さんがご自宅に伺いました。\n"
        "書類を一緒に確認しながら記入したところ、"
        "「わざわざ来てくれて本当に助かった。ありがとうございました」とその場でお言葉をいただきました。",
        channel="visit",
        product="casualty",
        praised=("E1008",),
        tags=("傷害保険", "高齢のお客さま", "訪問"),
        likes=10,
        comments=(("E1006", "お客さまに寄り添った対応ですね。"),),
    ),
    knowhow(
        "curator",
        30,
        "08:40",
        "朝礼で「ありがとうの声」を1件読む",
        "## 課題\n"
        "店舗に届いたお客さまの声が、受け取ったスタッフだけのものになっていました。\n\n"
        "## 工夫\n"
        "- 毎朝の朝礼で、この掲示板から**1件だけ**「ありがとう」の声を読み上げる\n"
        "- 読んだ後に「自分ならどう活かすか」を一人一言\n"
        "- 所要時間は**3分以内**\n\n"
        "## 成果\n"
        "試行した10店舗で、掲示板への投稿が増えました。"
        "「他店の工夫を知るきっかけになる」という声も届いています。\n\n"
        "ぜひ各店の朝礼でもお試しください。",
        category="skill",
        tags=("朝礼", "横展開", "好事例候補"),
        likes=16,
        comments=(
            ("E1013", "名駅店でも始めました。3分ならちょうど良いです。"),
            ("E1004", "他店の声を読むと、自分たちも頑張ろうと思えます。"),
        ),
    ),
    praise(
        "E1007",
        28,
        "18:30",
        "事故のご連絡からお支払いまで「ずっと同じ担当で安心」",
        "追突事故に遭われたお客さまから、保険金のお支払いが終わった後にメールをいただきました。\n"
        "「最初の連絡から最後まで鈴木さんが対応してくれたので、何度も同じ説明をしなくて済みました。"
        "心から感謝しています」とのことです。\n\n"
        "鈴木さん、約1か月のご対応お疲れさまでした。",
        channel="email",
        product="auto",
        praised=("E1003",),
        tags=("事故対応", "自動車保険", "メール"),
        heard_days_before=2,
        likes=12,
        comments=(("E1003", "ありがとうございます！ お客さまが早く日常に戻れて良かったです。"),),
    ),
    praise(
        "E1016",
        26,
        "13:10",
        "地震保険のご説明に「聞いてよかった」",
        "火災保険の更新でご来店されたお客さまに、伊藤さんが地震保険についてもご説明しました。\n"
        "「今まで何となく付けていなかったけれど、聞いてよかった。家族にも話してみます」"
        "とおっしゃってくださいました。\n"
        "被害事例の写真を使った説明資料が役に立っています。",
        channel="counter",
        product="earthquake",
        praised=("E1006",),
        tags=("地震保険", "火災保険", "説明資料"),
        likes=8,
    ),
    knowhow(
        "E1012",
        24,
        "17:55",
        "満期案内の前に確認する「5つのチェックリスト」",
        "## 課題\n"
        "満期のご案内で確認漏れがあり、ご契約後に変更手続きが必要になることがありました。\n\n"
        "## 工夫\n"
        "ご案内の前に、次の5点をチェックリストで確認しています。\n\n"
        "- 運転される方の範囲・年齢条件は変わっていないか\n"
        "- お車の買い替えや使用目的の変更はないか\n"
        "- ご住所・ご連絡先の変更はないか（内容は掲示板には書きません）\n"
        "- ご家族のご契約との補償の重複はないか\n"
        "- 前回のご案内で**宿題**になっていたことはないか\n\n"
        "## 成果\n"
        "ご契約後の変更手続きが減り、お客さまにもう一度お越しいただく手間が省けました。",
        category="tool",
        tags=("満期案内", "チェックリスト"),
        likes=11,
        comments=(("E1011", "「宿題」の確認、見落としがちです。参考になります。"),),
    ),
    praise(
        "E1005",
        22,
        "10:00",
        "免許を返納されたお客さまからのお手紙",
        "運転免許を返納され、自動車保険を解約されたお客さまから、お手紙をいただきました。\n"
        "「長い間お世話になりました。事故のときも、解約のときも、いつも丁寧に対応していただき"
        "感謝しています」と書かれていました。\n\n"
        "解約の際には中断証明書の制度もご案内しました。"
        "ご家族が将来お車を持たれるときに役立つかもしれません。",
        channel="letter",
        product="auto",
        tags=("高齢のお客さま", "自動車保険", "お手紙"),
        heard_days_before=5,
        likes=14,
        comments=(
            ("E1015", "長いお付き合いの証ですね。"),
            ("E1010", "中断証明書のご案内、大切ですね。"),
        ),
    ),
    knowhow(
        "E1004",
        20,
        "16:45",
        "外国籍のお客さまには「言い換え表」と指差しシート",
        "## 課題\n"
        "外国籍のお客さまとのやりとりで専門用語が伝わらず、説明に時間がかかっていました。\n\n"
        "## 工夫\n"
        "- 「補償」→「お金が出ること」など、**言い換え表**を作成\n"
        "- よく使う項目（事故・修理・満期など）をイラストにした**指差しシート**をカウンターに常備\n"
        "- 大切な内容は翻訳アプリで確認していただいたうえで、書面でもお渡しする\n\n"
        "## 成果\n"
        "説明の時間が短くなり、お客さまからも「分かりやすい」とのお声をいただいています。",
        category="skill",
        tags=("外国籍のお客さま", "やさしい日本語", "説明資料"),
        likes=13,
        comments=(("E1008", "言い換え表、ぜひ池袋店でも使わせてください。"),),
    ),
    praise(
        "E1013",
        18,
        "15:20",
        "入院給付金のご請求で「手続きが簡単だった」",
        "ご入院されたお客さまのご家族から、給付金のご請求についてご相談をいただきました。\n"
        "必要な書類をリストにしてお送りしたところ、"
        "「何を用意すればいいか一目で分かり、手続きが簡単でした。ありがとうございました」"
        "とお礼のお電話をいただきました。\n\n"
        "松本さんが作った書類リストのおかげです。",
        channel="phone",
        product="life",
        praised=("E1012",),
        tags=("生命保険", "保険金請求", "丁寧な説明"),
        heard_days_before=1,
        likes=9,
    ),
    praise(
        "E1001",
        16,
        "12:50",
        "初めての事故で不安なお客さまに、修理までの流れを一緒に",
        "初めて事故に遭われた若いお客さまが、不安そうなご様子でご来店されました。\n"
        "修理工場の選び方、代車の手配、保険を使った場合の翌年の保険料の変化まで、"
        "一つずつ紙に書いてご説明しました。\n\n"
        "後日、修理が終わったお車で立ち寄ってくださり、"
        "「初めてで何も分からなかったけれど、全部教えてもらえてよかった。ありがとうございました」"
        "とお言葉をいただきました。",
        channel="counter",
        product="auto",
        tags=("事故対応", "自動車保険", "丁寧な説明"),
        likes=10,
        comments=(
            ("E1007", "翌年の保険料の変化まで説明するのは大事ですね。"),
            ("E1003", "@E1001 さん、紙に書いた説明の例、今度見せてください。"),
        ),
    ),
    knowhow(
        "E1014",
        14,
        "18:05",
        "満期案内メールの冒頭に「3行サマリー」",
        "## 課題\n"
        "満期案内をメールでお送りしても長文で最後まで読まれず、"
        "お問い合わせが満期の直前に集中していました。\n\n"
        "## 工夫\n"
        "- メールの冒頭に**3行サマリー**（満期日・変わる点・お願いしたいこと）\n"
        "- 詳しい説明は一枚まとめのPDFで\n"
        "- 件名に「【ご確認のお願い】」と入れる\n\n"
        "## 成果\n"
        "満期の1か月前までにお返事をいただける割合が増えました。",
        category="tool",
        tags=("満期案内", "メール", "連絡の工夫"),
        likes=9,
        comments=(("E1004", "一枚まとめと組み合わせると最強ですね！"),),
    ),
    praise(
        "E1011",
        12,
        "14:35",
        "車両入替の手続きのお礼",
        "本日お電話をいただいた森川様から、「納車日に間に合うように車両入替の手続きをしてくれて"
        "助かった。ありがとう」とお礼を言っていただきました。\n"
        "納車日が急に早まったとのことでしたが、必要な書類を前もってご案内していたので、"
        "その日のうちに手続きできました。",
        channel="phone",
        product="auto",
        tags=("自動車保険", "車両入替"),
        likes=3,
        flag=("E1004", "お客さまのお名前が書かれているようです"),
    ),
    praise(
        "E1006",
        11,
        "16:00",
        "お引っ越しの手続きをまとめてご案内して喜ばれました",
        "ご結婚を機にお引っ越しをされるお客さまが、火災保険と自動車保険の住所変更でご来店されました。\n"
        "清水さんが必要な手続きをチェックリストにして一度にご案内したところ、"
        "「あちこち連絡しなくて済んで助かりました。ありがとうございました」と喜んでいただけました。",
        channel="counter",
        product="fire",
        praised=("E1016",),
        tags=("火災保険", "住所変更", "チェックリスト"),
        likes=7,
    ),
    knowhow(
        "E1008",
        10,
        "11:15",
        "火災保険の更新時に「水災」の補償を一緒に確認",
        "## 課題\n"
        "火災保険の更新で、水災の補償を外していることをお客さまが覚えていないことがありました。\n\n"
        "## 工夫\n"
        "- 更新時に、自治体のハザードマップを**お客さまと一緒に**確認する\n"
        "- 水災補償の有無と、外している場合の保険料の差をお伝えする\n"
        "- 最後はお客さまに選んでいただく（無理にお勧めしない）\n\n"
        "## 成果\n"
        "「自分の家のリスクが初めて分かった」というお声が増えました。",
        category="knowledge",
        tags=("火災保険", "自然災害", "丁寧な説明"),
        likes=10,
    ),
    praise(
        "E1015",
        9,
        "17:25",
        "「話をよく聞いてくれた」とアンケートに",
        "生命保険の見直しをされたお客さまのアンケートに、"
        "「話をよく聞いてくれて、こちらの事情に合わせた提案をしてくれました。"
        "担当の方の人柄が良かったです」と書いていただきました。\n\n"
        "梅田店では、最初の15分は**お客さまのお話をうかがうだけ**にしています。",
        channel="survey",
        product="life",
        tags=("生命保険", "保険の見直し", "アンケート"),
        heard_days_before=6,
        likes=6,
    ),
    praise(
        "E1003",
        8,
        "13:55",
        "海外旅行前のご相談に感謝のメール",
        "海外旅行に行かれるお客さまから、今の傷害保険でどこまで補償されるのかご相談がありました。\n"
        "中村さんが、今のご契約で補償される範囲と足りない部分を表にしてお伝えしたところ、"
        "旅行から戻られた後に「安心して旅行を楽しめました。ありがとうございました」"
        "とメールをいただきました。",
        channel="email",
        product="casualty",
        praised=("E1007",),
        tags=("傷害保険", "メール", "丁寧な説明"),
        heard_days_before=1,
        likes=8,
    ),
    knowhow(
        "E1016",
        7,
        "09:30",
        "事故のお電話では、第一声で「お怪我はありませんか」",
        "## 課題\n"
        "事故のお電話で、つい契約内容の確認から入ってしまい、お客さまを不安にさせることがありました。\n\n"
        "## 工夫\n"
        "- 第一声は必ず「**お怪我はありませんか**」\n"
        "- 次に「今、安全な場所にいらっしゃいますか」\n"
        "- 契約内容の確認は、お客さまが落ち着いてから\n\n"
        "## 成果\n"
        "お客さまから「最初に体の心配をしてくれてうれしかった」とのお声をいただきました。"
        "新人研修でも使っています。",
        category="skill",
        tags=("事故対応", "電話対応", "新人研修"),
        likes=12,
        comments=(
            ("E1001", "基本ですが、忘れがちなことですね。"),
            ("E1009", "池袋店の新人研修の資料にも入れさせてください。"),
        ),
    ),
    praise(
        "E1010",
        6,
        "15:05",
        "地震保険のお支払いの後、お礼のはがき",
        "地震で外壁にひびが入ったお客さまから、保険金のお支払いの後にはがきが届きました。\n"
        "「高橋さんが調査の日程調整から一緒に進めてくれたので、不安な時期を乗り越えられました。"
        "感謝の気持ちでいっぱいです」と書かれていました。",
        channel="letter",
        product="earthquake",
        praised=("E1004",),
        tags=("地震保険", "保険金請求", "お手紙"),
        heard_days_before=3,
        likes=11,
        comments=(("E1004", "はがき、店舗に飾らせていただきます。"),),
    ),
    knowhow(
        "E1009",
        5,
        "12:20",
        "店頭の待ち時間に「確認カード」を記入していただく",
        "## 課題\n"
        "混み合う時間帯にお客さまをお待たせしたうえ、窓口で一から確認するので時間がかかっていました。\n\n"
        "## 工夫\n"
        "- ご用件やお車の変更の有無などを選ぶだけの**確認カード**を作成\n"
        "- お待ちいただく間にご記入いただく\n"
        "- カードは手続きの後にお客さまにお返しし、店舗には残さない\n\n"
        "## 成果\n"
        "窓口での手続き時間が短くなり、待ち時間へのご不満も減りました。",
        category="tool",
        tags=("店頭対応", "待ち時間"),
        likes=7,
    ),
    praise(
        "E1007",
        4,
        "16:40",
        "「この前の説明、家族にもそのまま話せた」",
        "先月、自動車保険の補償内容をご説明したお客さまが、ご家族の分のご相談で再びご来店されました。\n"
        "「この前もらった説明の紙を見せたら、家族もすぐに分かってくれた。ありがとう」"
        "とおっしゃっていただきました。\n"
        "一枚まとめの資料が、お客さまのご家庭でも役立っているようです。",
        channel="counter",
        product="auto",
        tags=("自動車保険", "説明資料", "満期案内"),
        likes=5,
    ),
    praise(
        "E1014",
        3,
        "17:50",
        "水漏れ事故の受付で「すぐに動いてくれた」",
        "マンションの上の階からの水漏れでお困りのお客さまから、ご連絡をいただきました。\n"
        "管理会社への連絡の仕方や、被害箇所の写真の撮り方をお伝えしたところ、その日の夕方に"
        "「すぐに動いてくれて本当に助かりました。ありがとうございました」とお電話をいただきました。",
        channel="phone",
        product="fire",
        tags=("火災保険", "事故対応"),
        likes=6,
        comments=(("E1013", "写真の撮り方まで伝えるの、大事ですね。"),),
    ),
    knowhow(
        "E1002",
        2,
        "18:15",
        "「ありがとうの声」を月に一度ふりかえる",
        "## 課題\n"
        "お客さまの声をいただいても、その場で喜んで終わってしまっていました。\n\n"
        "## 工夫\n"
        "- 月末に、その月にいただいた声を店舗全員でふりかえる\n"
        "- 「なぜ喜んでいただけたのか」を一言ずつ書き出す\n"
        "- 良かった対応は、翌月の**店舗の目標**にする\n\n"
        "## 成果\n"
        "丁寧な説明や事故直後の声かけなど、店舗としての強みがはっきりしてきました。",
        category="knowledge",
        tags=("朝礼", "店舗づくり", "好事例候補"),
        likes=8,
        comments=(("E1013", "@E1002 ふりかえりのシート、よければ見せてください。"),),
    ),
    praise(
        "E1012",
        1,
        "11:45",
        "初めての車、初めての保険のご相談",
        "就職を機に初めて車を買われたお客さまが、お母さまと一緒にご来店されました。\n"
        "井上さんが保険の仕組みから丁寧に説明し、"
        "「初めてで不安だったけれど、よく分かりました。ありがとうございました」と言っていただきました。\n"
        "お母さまからも「安心して任せられる」とのお言葉をいただきました。",
        channel="counter",
        product="auto",
        praised=("E1013",),
        tags=("自動車保険", "丁寧な説明", "若いお客さま"),
        likes=4,
    ),
    praise(
        "E1005",
        1,
        "09:10",
        "店舗の前でお声がけいただきました",
        "朝、店舗の前を掃除していると、以前事故のご対応をさせていただいたお客さまが通りかかり、"
        "「あのときは本当にお世話になりました。おかげで今も元気に運転しています」"
        "と声をかけてくださいました。\n"
        "覚えていてくださったことがうれしく、店舗みんなで感謝の気持ちを共有しました。",
        channel="other",
        product="auto",
        tags=("事故対応", "自動車保険"),
        likes=5,
    ),
    # drafts: visible only to their authors
    knowhow(
        "E1001",
        0,
        "",
        "事故受付後のフォローのお電話のタイミング",
        "## 課題\n"
        "事故受付の後、次にご連絡するタイミングが担当によってばらばら。\n\n"
        "## 工夫\n"
        "- 受付の翌日、3日後、修理完了時の3回\n"
        "- （具体例をここに追記する）\n\n"
        "## 成果\n"
        "（集計中）",
        category="skill",
        tags=("事故対応",),
        draft=True,
    ),
    praise(
        "E1011",
        0,
        "",
        "書類の書き方を教えてくれてありがとう",
        "本日ご来店のお客さまから、書類の書き方についてお礼を言っていただきました。（あとで詳しく書く）",
        channel="counter",
        draft=True,
    ),
]


def _created_at(spec: DemoPost, index: int, now: datetime) -> datetime:
    """When the demo post was written: `days_ago` days back at local time `at`."""
    if spec.days_ago == 0:  # drafts: a few hours ago
        return now - timedelta(hours=3 + 5 * (index % 3))
    zone = i18n.zone()
    day = now.astimezone(zone).date() - timedelta(days=spec.days_ago)
    hour, minute = (int(part) for part in spec.at.split(":"))
    return datetime.combine(day, time(hour, minute), zone).astimezone(now.tzinfo)


def _later(start: datetime, minutes: int, now: datetime) -> datetime:
    """A moment after `start`, but never in the future."""
    return min(start + timedelta(minutes=minutes), now - timedelta(minutes=1))


async def _create_units(db: AsyncSession, since: datetime) -> dict[str, OrgUnit]:
    units: dict[str, OrgUnit] = {}
    for code, name, kind, parent in UNITS:
        unit = OrgUnit(
            code=code,
            name=name,
            kind=kind,
            parent_id=units[parent].id if parent else None,
            created_at=since,
        )
        db.add(unit)
        await db.flush()
        units[code] = unit
    return units


async def _create_users(
    db: AsyncSession, units: dict[str, OrgUnit], since: datetime
) -> dict[str, User]:
    password_hash = hash_password(DEMO_PASSWORD)
    pin_hash = hash_password(DEMO_PIN)
    users: dict[str, User] = {}
    for code, name, unit_code, role in USERS:
        unit_id = units[unit_code].id
        assert unit_id is not None
        user = User(
            code=code,
            name=name,
            unit_id=unit_id,
            role=role,
            password_hash=password_hash,
            pin_hash=pin_hash if role == "staff" else None,
            created_at=since,
        )
        db.add(user)
        await db.flush()
        users[code] = user
    return users


async def _create_post(
    db: AsyncSession, spec: DemoPost, index: int, users: dict[str, User], now: datetime
) -> Post:
    created = _created_at(spec, index, now)
    fields = dict(spec.fields)
    if fields["kind"] == "praise":
        written_on = created.astimezone(i18n.zone()).date()
        fields["received_on"] = min(
            written_on - timedelta(days=spec.heard_days_before), i18n.today()
        )
    post = await post_service.create_post(db, users[spec.author], fields)
    post.created_at = post.updated_at = created
    post.published_at = created if post.status == "published" else None
    db.add(post)
    await db.commit()
    return post


async def _react(
    db: AsyncSession, spec: DemoPost, index: int, post: Post, users: dict[str, User], now: datetime
) -> None:
    """Likes (never by the author), comments and a flag, each dated after the post."""
    assert post.id is not None
    created = post.created_at
    pool = [code for code in LIKERS if code != spec.author]
    start = (index * 5) % len(pool)
    likers = (pool[start:] + pool[:start])[: min(spec.likes, len(pool))]
    for n, code in enumerate(likers):
        user = users[code]
        await likes.set_like(db, user, post, True)
        await db.execute(
            sa.update(likes_table)
            .where(likes_table.c.post_id == post.id, likes_table.c.user_id == user.id)
            .values(created_at=_later(created, 12 + n * (25 + index % 7) + n * n * 9, now))
        )
    await _give_reactions(db, spec, index, post, users, now)
    for n, (code, text) in enumerate(spec.comments):
        comment = await comment_service.add_comment(db, users[code], post, text)
        comment.created_at = _later(created, 40 + n * 95 + (index % 5) * 11, now)
        db.add(comment)
    if spec.flag is not None:
        reporter, note = spec.flag
        row = await flags.flag(db, users[reporter], post, None, "personal_info", note)
        row.created_at = _later(created, 150, now)
        db.add(row)
    await db.commit()


def _reaction_counts(spec: DemoPost, index: int) -> dict[ReactionKind, int]:
    """A few of each kind, in proportion to the likes: thanks and great mostly for praise,
    helpful and want_to_try (the 横展開 signal) mostly for know-how."""
    n = spec.likes
    if spec.fields["kind"] == "knowhow":
        return {
            ReactionKind.thanks: n // 5,
            ReactionKind.great: n // 4,
            ReactionKind.helpful: n // 2,
            ReactionKind.want_to_try: n // 3 + index % 2,
        }
    return {
        ReactionKind.thanks: n // 3,
        ReactionKind.great: n // 4 + index % 2,
        ReactionKind.helpful: n // 6,
        ReactionKind.want_to_try: n // 5 if index % 3 == 0 else 0,
    }


async def _give_reactions(
    db: AsyncSession, spec: DemoPost, index: int, post: Post, users: dict[str, User], now: datetime
) -> None:
    """Reactions (スタンプ) from colleagues other than the author, each dated after the post;
    each kind starts at another place of the pool, so that different people give them."""
    assert post.id is not None
    pool = [code for code in LIKERS if code != spec.author]
    for k, (kind, count) in enumerate(_reaction_counts(spec, index).items()):
        start = (index * 3 + k * 4) % len(pool)
        for n, code in enumerate((pool[start:] + pool[:start])[: min(count, len(pool))]):
            user = users[code]
            await reactions.set_reaction(db, user, post, kind, True)
            await db.execute(
                sa.update(reactions_table)
                .where(
                    reactions_table.c.post_id == post.id,
                    reactions_table.c.kind == kind,
                    reactions_table.c.user_id == user.id,
                )
                .values(created_at=_later(post.created_at, 20 + n * 37 + k * 13, now))
            )


async def load_demo(db: AsyncSession) -> list[tuple[str, str, str]]:
    """Create the demo company unless it is there already; return (code, name, role) logins."""
    logins = [(code, name, role) for code, name, _unit, role in USERS]
    if (await db.exec(select(OrgUnit).where(OrgUnit.code == "HQ"))).first() is not None:
        return logins
    now = utcnow()
    since = now - timedelta(days=90)
    units = await _create_units(db, since)
    users = await _create_users(db, units, since)
    await db.commit()
    created = []
    for index, spec in enumerate(POSTS):
        post = await _create_post(db, spec, index, users, now)
        if post.status == "published":
            await _react(db, spec, index, post, users, now)
            created.append(post)
    await _curate(db, users, created)
    await _integration_example(db, users["admin"])
    return logins


async def _integration_example(db: AsyncSession, admin: User) -> None:
    """An example of an outgoing integration on /admin/integrations, switched off: the demo
    never sends anything anywhere (docs/integrations.md)."""
    from app.services.integrations import config

    await config.create_integration(
        db,
        admin,
        {
            "kind": "webhook",
            "name": "例：社内ポータル（Webhook・停止中）",
            "enabled": False,
            "units": [],
            "events": ["post.featured", "bulletin.published"],
            "post_kinds": ["praise", "knowhow"],
            "url": "https://portal.example.com/hooks/arigato",
            "secret": "demo-secret-change-me",
        },
    )


async def _curate(db: AsyncSession, users: dict[str, User], posts: list[Post]) -> None:
    """Head office's week: two posts marked good practice and sent out as Vol. 1."""
    from app.services import bulletins, moderation

    curator = users["curator"]
    knowhow = [p for p in posts if p.kind == "knowhow"][:1]
    praise = [p for p in posts if p.kind == "praise"][:1]
    picks = knowhow + praise
    notes = [
        "満期案内の工夫として全店で参考にしてください。",
        "お客さまに寄り添った対応の好事例です。",
    ]
    for post, note in zip(picks, notes, strict=False):
        await moderation.feature_post(db, curator, post, note)
    bulletin = await bulletins.create_bulletin(
        db,
        curator,
        {
            "title": "今月の好取組",
            "lead": "各店の「ありがとう」とナレッジから、全店で共有したい取組を紹介します。朝礼でご活用ください。",
            "audience": "all",
        },
    )
    for post, note in zip(picks, notes, strict=False):
        await bulletins.add_item(db, curator, bulletin, post.id, note)
    await bulletins.publish_now(db, curator, bulletin)
