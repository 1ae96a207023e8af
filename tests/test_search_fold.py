"""A search that forgives, on SQLite and PostgreSQL: each folding finds the other spelling,
results highlight the original characters, names and codes are found however they are typed,
and migration 0023 folds the posts written before it.

Run on both: `pytest tests/test_search_fold.py` and with TEST_DATABASE_URL=postgresql://...
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from app.config import get_settings
from app.migrate import alembic_config
from app.models import Post
from app.services.moderation import redact_post
from app.services.search import post_text_filter
from tests.conftest import IS_PG, _admin_pg, db_name
from tests.factories import bearer_for, login_as, make_post, make_user, soup
from tests.test_migration_history import _write_old_post
from tests.test_migrations import _fresh_url
from tests.test_posts_api import PRAISE
from tests.test_search import _found

posts = Post.__table__


@pytest.fixture
async def author(db):
    return await make_user(db)


# one test per folding: the text as stored, what is typed, both ways round where it matters


@pytest.mark.parametrize(
    ("stored", "typed", "found"),
    [
        pytest.param("ＡＢＣ保険の案内", "abc保険", True, id="full-width letters"),
        pytest.param("ABC保険の案内", "ＡＢＣ", True, id="full-width query"),
        pytest.param("窓口１番", "1番", True, id="full-width digits"),
        pytest.param("ｶﾀｶﾅ表記の案内", "カタカナ", True, id="half-width katakana"),
        pytest.param("カタカナ表記の案内", "ｶﾀｶﾅ", True, id="half-width query"),
        pytest.param("ｶﾞｲﾄﾞﾌﾞｯｸ配布", "ガイドブック", True, id="half-width voiced marks"),
        pytest.param("Excel の比較表", "EXCEL", True, id="case"),
        pytest.param("㈱ありがとう商事", "(株)", True, id="parenthesized ideograph"),
        pytest.param("(株)ありがとう商事", "㈱", True, id="parenthesized ideograph query"),
        pytest.param(
            "お客さまからアリガトウの声", "ありがとう", True, id="hiragana finds katakana"
        ),
        pytest.param(
            "お客さまからありがとうの声", "アリガトウ", True, id="katakana finds hiragana"
        ),
        pytest.param("フイルムの保管", "フィルム", True, id="small vowel"),
        pytest.param("更新は3ヶ月ごと", "3ケ月", True, id="small ke"),
        pytest.param("コンピュータの設定", "コンピューター", True, id="final long vowel in query"),
        pytest.param("コンピューターの設定", "コンピュータ", True, id="final long vowel in text"),
        pytest.param("ｻｰﾊﾞｰの再起動", "サーバー", True, id="half-width long vowel"),
        pytest.param(
            "あり\u200bがとう\u200dございます", "ありがとう", True, id="zero-width in text"
        ),
        pytest.param(
            "ありがとうございます", "あり\u200bがと\ufeffう", True, id="zero-width in query"
        ),
        pytest.param("10〜20時", "～", True, id="wave dash"),
        pytest.param("感謝の声", "感 謝", True, id="terms still split"),
        # what does not fold
        pytest.param("びよういんの予約", "びょういん", False, id="small ya yu yo stay"),
        pytest.param("かつての手続き", "かって", False, id="small tsu stays"),
        pytest.param("ビールの差し入れ", "ビル", False, id="long vowel inside a word stays"),
        pytest.param("カの羽音", "カー", False, id="short word keeps its long vowel"),
    ],
)
async def test_each_folding_finds_the_other_spelling(db, author, stored, typed, found):
    post = await make_post(db, author, title="ご報告", body=stored)
    other = await make_post(db, author, title="ご報告", body="別件の手続き")
    # in the title as well as in the body
    titled = await make_post(db, author, title=stored, body="本文")
    expected = {post.id, titled.id} if found else set()
    assert await _found(db, typed, [post, other, titled]) == expected


async def test_redacted_text_is_searched_as_redacted(db, author):
    curator = await make_user(db, role="curator")
    post = await make_post(db, author, title="ご報告", body="山田ﾀﾛｳ様からのお礼")
    assert await _found(db, "タロウ", [post]) == {post.id}
    await redact_post(db, curator, post, body="●●様からのお礼")
    assert await _found(db, "タロウ", [post]) == set()
    assert await _found(db, "様からの", [post]) == {post.id}


async def test_posts_written_and_edited_through_the_api_are_found_folded(client, db, author):
    headers = await bearer_for(db, author)
    r = await client.post(
        "/api/v1/posts",
        json={**PRAISE, "title": "ｶﾀｶﾅのお礼", "body": "ＡＢＣ保険"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]

    async def found(q: str) -> list[int]:
        r = await client.get("/api/v1/posts", params={"q": q}, headers=headers)
        return [item["id"] for item in r.json()["items"]]

    assert await found("カタカナ abc") == [post_id]
    r = await client.patch(f"/api/v1/posts/{post_id}", json={"body": "ありがとう"}, headers=headers)
    assert r.status_code == 200, r.text
    assert await found("abc") == []
    assert await found("アリガトウ") == [post_id]


# results highlight the original characters


async def test_results_highlight_the_original_characters(client, db, author):
    await make_post(
        db,
        author,
        title="ｶﾀｶﾅの<b>案内</b>",
        body='<script>alert("x")</script>カタカナ表記で説明しました。',
    )
    await login_as(client, author)
    page = soup(await client.get("/", params={"q": "かたかな"}))
    [card] = page.select(".post-card")
    assert [m.get_text() for m in card.select(".post-title mark")] == ["ｶﾀｶﾅ"]
    assert card.select_one(".post-title").get_text(strip=True) == "ｶﾀｶﾅの<b>案内</b>"
    assert not card.select("script") and not card.select(".post-title b")
    excerpt = card.select_one(".search-excerpt")
    assert [m.get_text() for m in excerpt.select("mark")] == ["カタカナ"]
    assert '<script>alert("x")</script>' in excerpt.get_text()  # shown as text
    # Without a search, the card is the usual one.
    plain = soup(await client.get("/")).select_one(".post-card")
    assert not plain.select("mark") and not plain.select(".search-excerpt")


async def test_next_page_of_results_is_highlighted_too(client, db, author):
    for i in range(21):
        await make_post(db, author, title=f"第{i}回 ｱﾘｶﾞﾄｳ", body="本文")
    await login_as(client, author)
    first = soup(await client.get("/", params={"q": "ありがとう"}))
    assert len(first.select(".post-title mark")) == 20
    more = first.select_one(".next-page a")["hx-get"]
    rest = soup(await client.get(more, headers={"HX-Request": "true"}))
    assert [m.get_text() for m in rest.select(".post-title mark")] == ["ｱﾘｶﾞﾄｳ"]


# names and codes in the directory and the pickers


async def test_pickers_ignore_spaces_of_any_width_and_read_full_width_codes(client, db):
    spaced = await make_user(db, code="E1001", name="田中\u3000太郎")
    joined = await make_user(db, code="E1002", name="田中次郎")
    await make_user(db, code="E2001", name="佐藤 花子")
    await login_as(client, await make_user(db, code="X0001", name="閲覧 者"))

    async def offered(**params: str) -> list[str]:
        r = soup(await client.get("/users/suggest", params=params))
        return [li["data-code"] for li in r.select("li[data-code]")]

    assert await offered(praised_q="田中太郎") == [spaced.code]
    assert await offered(praised_q="田中 太郎") == [spaced.code]
    assert await offered(praised_q="田中 次郎") == [joined.code]
    assert await offered(q="@田中\u3000次郎") == [joined.code]
    assert await offered(q="＠Ｅ１００１") == [spaced.code]
    assert await offered(praised_q="ｅ１００") == [spaced.code, joined.code]
    assert await offered(praised_q="Ｅ２") == ["E2001"]


async def test_directory_api_and_admin_list_find_names_and_codes_as_typed(client, db):
    await make_user(db, code="E1001", name="田中　太郎")
    viewer = await make_user(db, code="X0002", name="閲覧 者")
    headers = await bearer_for(db, viewer)
    for q in ("田中太郎", "Ｅ１００１", "e1001"):
        r = await client.get("/api/v1/users", params={"q": q}, headers=headers)
        assert [u["code"] for u in r.json()["items"]] == ["E1001"], q
    await login_as(client, await make_user(db, code="X0003", name="管理 者", role="admin"))
    page = soup(await client.get("/admin/users", params={"q": "田中 太郎"}))
    assert "E1001" in page.get_text() and "X0002" not in page.get_text()


# migration 0023 folds the posts written before it


OLD_BODY = "ｶﾀｶﾅの㈱ＡＢＣ、あり\u200bがとう、コンピューター"


def test_migration_folds_posts_written_before_it(tmp_path, monkeypatch):
    name = db_name("fold_migration")
    monkeypatch.setenv("DATABASE_URL", _fresh_url(tmp_path, name))
    get_settings.cache_clear()
    try:
        command.upgrade(alembic_config(), "0022")
        _write_old_post(OLD_BODY)  # id 9001
        command.upgrade(alembic_config(), "head")

        engine = sa.create_engine(get_settings().sync_database_url)
        with engine.connect() as conn:
            dialect = conn.dialect.name
            for q in ("カタカナ", "(株)abc", "ありがとう", "コンピュータ", "株", "別件"):
                clause = post_text_filter(dialect, q)
                found = set(conn.execute(sa.select(posts.c.id).where(clause)).scalars())
                assert found == (set() if q == "別件" else {9001}), q
        engine.dispose()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
