"""A small Japanese demo company: units, users of every role, posts, likes and comments."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Comment, Like, OrgUnit, Post, PostPraised, User
from app.models.base import utcnow
from app.security import hash_password

DEMO_PASSWORD = "arigato-demo"

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
]

USERS = [  # code, name, unit, role
    ("admin", "システム 管理者", "HQ", "admin"),
    ("curator", "本社 花子", "HQ-QC", "curator"),
    ("E1001", "山田 太郎", "TKY-001", "staff"),
    ("E1002", "佐藤 美咲", "TKY-001", "staff"),
    ("E1003", "鈴木 一郎", "TKY-002", "staff"),
    ("E1004", "高橋 由美", "YKH-001", "staff"),
    ("E1005", "田中 健太", "OSK-001", "staff"),
    ("E1006", "伊藤 さくら", "OSK-002", "staff"),
]

# kind, author, title, body, channel / category, days ago, praised
POSTS = [
    (
        "praise",
        "E1001",
        "事故対応のお礼のお電話をいただきました",
        "先日追突事故に遭われたお客さまから「夜遅くまで親身に対応してくれて本当に助かった、ありがとう」とお電話をいただきました。\n保険金のお支払いまでの流れを最初に図で説明したのが安心につながったそうです。",
        "phone",
        1,
        ["E1002"],
    ),
    (
        "praise",
        "E1004",
        "満期案内が分かりやすかったとアンケートに",
        "自動車保険の満期案内で、補償の変更点を一枚にまとめてお渡ししたところ、アンケートに「毎年一番分かりやすい説明です。ありがとうございます」と書いていただきました。",
        "survey",
        3,
        [],
    ),
    (
        "knowhow",
        "E1003",
        "満期案内は「変わる点だけ一枚」にまとめる",
        "## 課題\n満期案内の説明が長くなり、お客さまが要点をつかみにくい。\n\n## 工夫\n- 前年からの**変更点だけ**を一枚にまとめる\n- 保険料の差額は大きな数字で示す\n\n## 成果\n説明時間が平均10分短くなり、アンケートの「分かりやすさ」が上がりました。",
        "tool",
        4,
        [],
    ),
    (
        "praise",
        "E1005",
        "ご高齢のお客さまから手紙をいただきました",
        "火災保険の更新でご自宅に伺った際、書類を一緒に確認したことへのお礼のお手紙が届きました。「丁寧に説明してくれてありがとう」という言葉に店舗一同感激しています。",
        "letter",
        6,
        ["E1006"],
    ),
    (
        "knowhow",
        "E1006",
        "地震保険の説明に被害事例の写真を使う",
        "## 課題\n地震保険の必要性がなかなか伝わらない。\n\n## 工夫\n過去の被害事例（公表資料）の写真を使い、補償される範囲を具体的に説明。\n\n## 成果\n付帯率が前年より上がりました。",
        "knowledge",
        8,
        [],
    ),
    (
        "praise",
        "E1002",
        "店頭で「また来ます」とお声がけいただきました",
        "ご家族の保険の見直しでご来店されたお客さまから、帰り際に「説明がとても丁寧で安心しました。ありがとう」とお声がけいただきました。",
        "counter",
        10,
        [],
    ),
]

COMMENTS = [
    (0, "E1004", "素敵なお話です！図で説明する方法、うちの店でも試してみます。"),
    (0, "E1005", "夜遅くまでお疲れさまでした。"),
    (2, "E1001", "変更点だけ一枚、とても分かりやすいですね。テンプレートを共有いただけますか？"),
]


async def load_demo(db: AsyncSession) -> list[tuple[str, str, str]]:
    """Create the demo company unless it is there already; return (code, name, role) logins."""
    logins = [(code, name, role) for code, name, _unit, role in USERS]
    if (await db.exec(select(OrgUnit).where(OrgUnit.code == "HQ"))).first() is not None:
        return logins
    units: dict[str, OrgUnit] = {}
    for code, name, kind, parent in UNITS:
        unit = OrgUnit(
            code=code, name=name, kind=kind, parent_id=units[parent].id if parent else None
        )
        db.add(unit)
        await db.flush()
        units[code] = unit
    password_hash = hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for code, name, unit_code, role in USERS:
        unit_id = units[unit_code].id
        assert unit_id is not None
        user = User(code=code, name=name, unit_id=unit_id, role=role, password_hash=password_hash)
        db.add(user)
        await db.flush()
        users[code] = user
    now = utcnow()
    posts: list[Post] = []
    for kind, author, title, body, extra, days, praised in POSTS:
        author_user = users[author]
        assert author_user.id is not None
        created = now - timedelta(days=days, hours=2)
        post = Post(
            kind=kind,
            title=title,
            body=body,
            author_id=author_user.id,
            unit_id=author_user.unit_id,
            status="published",
            created_at=created,
            updated_at=created,
            published_at=created,
            received_on=(date.today() - timedelta(days=days + 1)) if kind == "praise" else None,
            channel=extra if kind == "praise" else None,
            category=extra if kind == "knowhow" else None,
        )
        db.add(post)
        await db.flush()
        posts.append(post)
        for code in praised:
            assert post.id is not None and users[code].id is not None
            db.add(PostPraised(post_id=post.id, user_id=users[code].id))  # type: ignore[arg-type]
    for i, post in enumerate(posts):
        likers = [u for code, u in users.items() if u.id != post.author_id][: 5 - i % 4]
        for liker in likers:
            db.add(Like(post_id=post.id, user_id=liker.id))  # type: ignore[arg-type]
        post.like_count = len(likers)
    for index, code, body in COMMENTS:
        post = posts[index]
        assert post.id is not None and users[code].id is not None
        db.add(Comment(post_id=post.id, author_id=users[code].id, body=body))  # type: ignore[arg-type]
        post.comment_count += 1
    for post in posts:
        db.add(post)
    await db.commit()
    return logins
