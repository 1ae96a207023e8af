"""Japanese substring search (app.services.search): the same answers on SQLite and PostgreSQL.

Run on both: `pytest tests/test_search.py` and with TEST_DATABASE_URL=postgresql://...
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Post
from app.models.base import utcnow
from app.services.search import (
    MAX_TERM_LENGTH,
    MAX_TERMS,
    SEARCH_INDEXES,
    SEARCH_TABLES,
    alembic_include_name,
    indexed_text,
    post_text_filter,
    search_terms,
)
from app.services.textfold import fold
from tests.conftest import IS_PG
from tests.factories import make_post, make_user

posts = Post.__table__


def _dialect(db) -> str:
    return db.get_bind().dialect.name


async def _found(db, q: str, among: list[Post] | None = None) -> set[int]:
    """Ids of the posts (of `among`, if given) whose text matches `q`, any status."""
    clause = post_text_filter(_dialect(db), q)
    assert clause is not None
    stmt = sa.select(posts.c.id).where(clause)
    if among is not None:
        stmt = stmt.where(posts.c.id.in_([p.id for p in among]))
    return set((await db.execute(stmt)).scalars())


@pytest.fixture
async def author(db):
    return await make_user(db)


# search_terms


def test_terms_split_on_ascii_and_ideographic_spaces():
    assert search_terms(" 感謝\t丁寧\u3000ありがとう \n ") == ["感謝", "丁寧", "アリガトウ"]
    assert search_terms("a\u3000\u3000b") == ["a", "b"]


def test_terms_blank_query_has_none():
    assert search_terms("") == []
    assert search_terms(" \u3000\t\n") == []
    assert post_text_filter("sqlite", "\u3000 ") is None
    assert post_text_filter("postgresql", "") is None


def test_terms_are_limited_in_number_and_length():
    assert search_terms("a b c d e f g") == ["a", "b", "c", "d", "e"]
    assert len(search_terms(" ".join(f"x{i:02d}" for i in range(20)))) == MAX_TERMS
    long = "あ" * 80
    assert search_terms(long) == ["ア" * MAX_TERM_LENGTH]


def test_terms_are_folded_and_kept_once():
    assert search_terms("ABC 100%") == ["abc", "100%"]
    assert search_terms("ａｂｃ ABC abc") == ["abc"]


# matching


async def test_word_inside_a_longer_phrase(db, author):
    thanks = await make_post(db, author, title="本当にありがとうございました", body="説明")
    other = await make_post(db, author, title="ご相談", body="手続きの件")
    among = [thanks, other]
    assert await _found(db, "ありがとう", among) == {thanks.id}
    assert await _found(db, "ありがとうございました", among) == {thanks.id}
    assert await _found(db, "本当に", among) == {thanks.id}


async def test_two_character_words(db, author):
    post = await make_post(db, author, title="窓口で", body="丁寧な説明に感謝されました。")
    other = await make_post(db, author, title="窓口で", body="事故の受付")
    among = [post, other]
    assert await _found(db, "感謝", among) == {post.id}
    assert await _found(db, "丁寧", among) == {post.id}
    assert await _found(db, "窓口", among) == {post.id, other.id}
    assert await _found(db, "受付", among) == {other.id}
    assert await _found(db, "感激", among) == set()


async def test_one_character_term(db, author):
    post = await make_post(db, author, title="車両保険", body="感謝")
    other = await make_post(db, author, title="火災保険", body="ありがとう")
    among = [post, other]
    assert await _found(db, "車", among) == {post.id}
    assert await _found(db, "謝", among) == {post.id}
    assert await _found(db, "保", among) == {post.id, other.id}
    assert await _found(db, "鰻", among) == set()


async def test_every_term_must_match(db, author):
    both = await make_post(db, author, title="ありがとう", body="丁寧な対応")
    one = await make_post(db, author, title="ありがとう", body="迅速な対応")
    among = [both, one]
    assert await _found(db, "ありがとう 丁寧", among) == {both.id}
    assert await _found(db, "ありがとう\u3000丁寧", among) == {both.id}
    assert await _found(db, "丁寧 対応 ありがとう", among) == {both.id}
    assert await _found(db, "ありがとう 対応", among) == {both.id, one.id}
    assert await _found(db, "ありがとう 鰻", among) == set()
    # terms of mixed lengths: 1, 2 and 3+ characters together
    assert await _found(db, "丁 対応 ありがとう", among) == {both.id}


async def test_term_may_be_in_title_or_body_but_not_across_them(db, author):
    in_body = await make_post(db, author, title="ご報告", body="保険金請求のご案内")
    in_title = await make_post(db, author, title="保険金請求", body="ご報告")
    split = await make_post(db, author, title="ありが", body="とうございます")
    among = [in_body, in_title, split]
    assert await _found(db, "保険金請求", among) == {in_body.id, in_title.id}
    assert await _found(db, "ご案内", among) == {in_body.id}
    assert await _found(db, "ありがとう", among) == set()
    assert await _found(db, "がと", among) == set()


async def test_nothing_matches(db, author):
    among = [await make_post(db, author) for _ in range(3)]
    assert await _found(db, "該当なしの言葉", among) == set()
    assert await _found(db, "鰻", among) == set()
    assert await _found(db, "zz", among) == set()


async def test_ascii_letters_fold_case(db, author):
    post = await make_post(db, author, title="AI活用のTips", body="Excel で比較表")
    other = await make_post(db, author, title="活用", body="比較表")
    among = [post, other]
    for q in ("ai", "AI", "aI活用", "tips", "TIPS", "excel", "EXCEL で", "x", "X"):
        assert await _found(db, q, among) == {post.id}, q


async def test_full_width_letters_are_the_same_letters(db, author):
    """Full-width letters fold into ASCII, both in the index and in the query."""
    wide = await make_post(db, author, title="ＡＩ活用", body="")
    ascii_ = await make_post(db, author, title="AI活用", body="")
    among = [wide, ascii_]
    for q in ("ＡＩ", "ａｉ", "ａｉ活用", "ai", "AI活用", "ＡＩ活用"):
        assert await _found(db, q, among) == {wide.id, ascii_.id}, q


async def test_like_wildcards_are_literal(db, author):
    percent = await make_post(db, author, title="目標100%達成", body="")
    underscore = await make_post(db, author, title="file_name", body="")
    backslash = await make_post(db, author, title="C:\\共有\\資料", body="")
    plain = await make_post(db, author, title="目標1000達成 filexname C:共有", body="")
    among = [percent, underscore, backslash, plain]
    assert await _found(db, "%", among) == {percent.id}
    assert await _found(db, "0%", among) == {percent.id}
    assert await _found(db, "100%達成", among) == {percent.id}
    assert await _found(db, "_", among) == {underscore.id}
    assert await _found(db, "e_n", among) == {underscore.id}
    assert await _found(db, "file_name", among) == {underscore.id}
    assert await _found(db, "\\", among) == {backslash.id}
    assert await _found(db, "C:\\", among) == {backslash.id}
    assert await _found(db, "\\共有\\", among) == {backslash.id}
    assert await _found(db, "%_", among) == set()
    assert await _found(db, "\\%", among) == set()


async def test_quotes_are_literal(db, author):
    single = await make_post(db, author, title="it's OK", body="")
    double = await make_post(db, author, title='"要望"あり', body="")
    among = [single, double]
    assert await _found(db, "'", among) == {single.id}
    assert await _found(db, "it's", among) == {single.id}
    assert await _found(db, "'; DROP TABLE posts; --", among) == set()
    assert await _found(db, '"', among) == {double.id}
    assert await _found(db, '"要望"', among) == {double.id}
    assert await _found(db, 'OR "', among) == set()


async def test_status_is_the_callers_filter(db, author):
    """The clause matches text only; the feed adds status, order and limit."""
    now = utcnow()
    published = await make_post(db, author, title="感謝の声", created_at=now)
    newer = await make_post(db, author, body="感謝", created_at=now + timedelta(seconds=1))
    hidden = await make_post(db, author, title="感謝", status="hidden")
    draft = await make_post(db, author, title="感謝", status="draft")
    other = await make_post(db, author, title="ご案内", body="手続き")
    among = [published, newer, hidden, draft, other]
    assert await _found(db, "感謝", among) == {published.id, newer.id, hidden.id, draft.id}

    clause = post_text_filter(_dialect(db), "感謝")
    stmt = (
        sa.select(Post)
        .where(Post.status == "published", clause)
        .where(posts.c.id.in_([p.id for p in among]))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(20)
    )
    rows = (await db.execute(stmt)).scalars().all()
    assert [p.id for p in rows] == [newer.id, published.id]


async def test_edits_and_deletes_are_seen(db, author):
    """On SQLite the FTS5 table follows posts through triggers, in the same transaction (the
    writer sets search_text with the title and body, as services/posts does)."""
    post = await make_post(db, author, title="自動車保険の更新", body="ありがとうございます")
    post.title = "火災保険の更新"
    post.search_text = indexed_text(post.title, post.body)
    db.add(post)
    await db.commit()
    assert await _found(db, "自動車保険") == set()
    assert await _found(db, "火災保険") == {post.id}
    post.body = "丁寧な説明に感謝"
    post.search_text = indexed_text(post.title, post.body)
    db.add(post)
    await db.commit()
    assert await _found(db, "ありがとう") == set()
    assert await _found(db, "丁寧な説明") == {post.id}
    assert await _found(db, "感謝") == {post.id}
    await db.delete(post)
    await db.commit()
    assert await _found(db, "火災保険") == set()
    assert await _found(db, "丁寧な説明") == set()


async def test_alembic_hooks_skip_search_objects():
    for name in SEARCH_TABLES:
        assert not alembic_include_name(name, "table", {})
    for name in SEARCH_INDEXES:
        assert not alembic_include_name(name, "index", {})
    assert alembic_include_name("posts", "table", {})
    assert alembic_include_name("ix_posts_feed", "index", {})


async def test_search_objects_exist(db):
    if IS_PG:
        rows = await db.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'posts'")
        )
        assert set(SEARCH_INDEXES) <= set(rows.scalars())
    else:
        rows = await db.execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")
        )
        # Lost if a batch migration recreates `posts`: such a migration must recreate them.
        assert {"posts_fts_insert", "posts_fts_update", "posts_fts_delete"} <= set(rows.scalars())


@pytest.mark.skipif(not IS_PG, reason="PostgreSQL plans")
@pytest.mark.parametrize(
    ("q", "index"),
    [("ありがとう", "ix_posts_search_trgm"), ("感謝", "ix_posts_search_grams")],
)
async def test_postgresql_clause_can_use_the_indexes(db, q, index):
    """The clause's expressions must stay identical to the indexed ones (migration 0020)."""
    clause = post_text_filter("postgresql", q)
    sql = str(
        sa.select(posts.c.id)
        .where(clause)
        .compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )
    await db.execute(sa.text("SET LOCAL enable_seqscan = off"))
    await db.execute(sa.text("SET LOCAL enable_indexscan = off"))
    plan = "\n".join((await db.execute(sa.text("EXPLAIN " + sql))).scalars())
    await db.execute(sa.text("RESET enable_seqscan"))
    await db.execute(sa.text("RESET enable_indexscan"))
    assert index in plan, plan


# the property: the same answer as Python, on either database

# Every folding has characters here: widths (ＡＢｃ１, ｶﾀﾞ), case, ㈱, kana, small kana, the
# long vowel, look-alikes (〜～), invisible characters and voiced marks that join the kana.
_TEXT_ALPHABET = (
    "ありがとうございます感謝丁寧説明アイカタABCabc01%_\\ \u3000"
    "ＡＢｃ１ｶﾀﾞﾟ㈱株()ァぁヶケッツーｰ〜～~\u200b\u3099"
)
_TERM_ALPHABET = _TEXT_ALPHABET.replace(" ", "").replace("\u3000", "")


def _reference(terms: list[str], title: str, body: str) -> bool:
    """Python's answer: each folded term is in the folded title or the folded body."""
    return all(t in fold(title) or t in fold(body) for t in terms)


@st.composite
def _posts_and_terms(draw):
    texts = draw(
        st.lists(
            st.tuples(
                st.text(alphabet=_TEXT_ALPHABET, max_size=12),
                st.text(alphabet=_TEXT_ALPHABET, max_size=30),
            ),
            max_size=6,
        )
    )
    # Half the terms are cut from the posts' own text, so that matches are common.
    pieces = [w for title, body in texts for w in search_terms(title + " " + body)]
    random_term = st.text(alphabet=_TERM_ALPHABET, min_size=1, max_size=4)
    term = random_term
    if pieces:
        cut = st.sampled_from(pieces).flatmap(
            lambda w: st.integers(0, len(w) - 1).flatmap(
                lambda i: st.integers(i + 1, min(len(w), i + 5)).map(lambda j: w[i:j])
            )
        )
        term = st.one_of(cut, random_term)
    terms = draw(st.lists(term, min_size=1, max_size=3))
    return texts, terms


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=_posts_and_terms(),
    separator=st.sampled_from([" ", "\u3000", "  ", "\t"]),
)
async def test_same_answer_as_python(db, author, case, separator):
    texts, typed = case
    q = separator + separator.join(typed)
    terms = search_terms(q)
    if not terms:  # every typed character folded away (a lone zero-width space)
        assert post_text_filter(_dialect(db), q) is None
        return
    nested = await db.begin_nested()
    try:
        now = utcnow()
        rows = [
            Post(
                kind="praise",
                title=title,
                body=body,
                search_text=indexed_text(title, body),
                author_id=author.id,
                unit_id=author.unit_id,
                created_at=now,
                updated_at=now,
            )
            for title, body in texts
        ]
        db.add_all(rows)
        await db.flush()
        expected = {p.id for p in rows if _reference(terms, p.title, p.body)}
        assert await _found(db, q, rows) == expected
    finally:
        await nested.rollback()
