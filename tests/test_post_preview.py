"""Cards in lists: a long post shows its first whole lines and a 続きを読む link to the rest;
know-how says ナレッジ once; the composer's template writes the headings the demo posts use."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.demo import POSTS
from app.services.markdown import PREVIEW_CHARS, PREVIEW_LINES, render_markdown, render_preview
from tests.factories import login_as, make_post, make_user, soup

LONG_KNOWHOW = (
    "## 課題\n"
    "事故のご連絡を受けたとき、担当によって聞き取る項目にばらつきがありました。\n\n"
    "## 工夫\n"
    "- A4一枚の聞き取りシートを作成\n"
    "- 聞く順番どおりに項目を並べた\n"
    "- 電話の横に常備\n\n"
    "## 成果\n"
    "- 保険会社からの確認の折り返しが約半分に\n"
    "- 新人スタッフも落ち着いて受付できるようになりました\n"
)


def test_a_short_post_is_shown_whole():
    text = "丁寧な説明に感謝されました。\n\nまたお願いしたいとのことです。"
    preview = render_preview(text, "<p>stored</p>")
    assert preview == preview.__class__("<p>stored</p>", False)  # the stored HTML as it is


def test_a_long_post_is_cut_where_a_line_ends():
    preview = render_preview(LONG_KNOWHOW)
    assert preview.more
    assert preview.html.startswith("<h3>課題</h3>")
    assert preview.html.count("<li>") <= PREVIEW_LINES
    assert "成果" not in preview.html  # no heading left without its text


def test_one_long_paragraph_is_cut_after_a_sentence():
    sentence = "お客さまから丁寧な説明へのお礼をいただきました。"
    preview = render_preview(sentence * 20)
    assert preview.more
    text = preview.html.removeprefix("<p>").removesuffix("</p>\n")
    assert text.endswith("。…") and len(text) <= PREVIEW_CHARS + 1


lines = st.lists(
    st.one_of(
        st.just(""),
        st.text(alphabet="ありがとう店舗説明。 ", min_size=1, max_size=90),
        st.text(alphabet="工夫成果", min_size=1, max_size=8).map(lambda t: "## " + t),
        st.text(alphabet="聞き取りシート", min_size=1, max_size=40).map(lambda t: "- " + t),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(lines)
def test_a_preview_is_whole_lines_of_the_post(body_lines):
    text = "\n".join(body_lines)
    preview = render_preview(text)
    if not preview.more:
        assert preview.html == render_markdown(text)
        return
    # What is shown is the post's first lines, whole (the rendering of a prefix of its
    # lines), or, for one long first paragraph, its beginning up to a sentence's end (…).
    prefixes = {render_markdown("\n".join(body_lines[:k])) for k in range(1, len(body_lines))}
    assert preview.html in prefixes or preview.html.rstrip().endswith("…</p>")
    assert preview.html.count("<li>") + preview.html.count("<h3>") <= PREVIEW_LINES


async def test_cards_link_to_the_rest_and_say_knowhow_once(client, db):
    author = await make_user(db)
    long_post = await make_post(
        db,
        author,
        kind="knowhow",
        category="knowledge",
        title="聞き取りシート",
        body=LONG_KNOWHOW,
        body_html=render_markdown(LONG_KNOWHOW),
        channel=None,
        received_on=None,
    )
    short_post = await make_post(
        db,
        author,
        kind="knowhow",
        category="tool",
        title="短い工夫",
        body="短い本文です。",
        channel=None,
        received_on=None,
    )
    await login_as(client, await make_user(db))
    page = soup(await client.get("/"))
    long_card = page.select_one(f"#post-{long_post.id}")
    link = long_card.select_one(".read-more a")
    assert link["href"] == f"/posts/{long_post.id}"
    assert link.get_text(strip=True) == "続きを読む"
    assert link["aria-label"] == "続きを読む：聞き取りシート"  # names its post
    assert "成果" not in long_card.select_one(".post-body").get_text()
    assert [s.get_text() for s in long_card.select(".post-meta-top span")].count("ナレッジ") == 1
    short_card = page.select_one(f"#post-{short_post.id}")
    assert short_card.select_one(".read-more") is None
    assert [s.get_text() for s in short_card.select(".post-meta-top span")][:2] == [
        "ナレッジ",
        "ツール",
    ]
    # The post page shows it all.
    full = soup(await client.get(f"/posts/{long_post.id}")).select_one(".post-body")
    assert "新人スタッフ" in full.get_text() and not soup(
        await client.get(f"/posts/{long_post.id}")
    ).select(".read-more")


async def test_english_shows_both_labels_they_differ(client, db):
    post = await make_post(
        db,
        await make_user(db),
        kind="knowhow",
        category="knowledge",
        channel=None,
        received_on=None,
    )
    await login_as(client, await make_user(db, locale="en"))
    card = soup(await client.get("/")).select_one(f"#post-{post.id}")
    assert [s.get_text() for s in card.select(".post-meta-top span")][:2] == [
        "Know-how",
        "Knowledge",
    ]


async def test_the_template_writes_the_demo_headings(client, db):
    await login_as(client, await make_user(db))
    form = soup(await client.get("/posts/composer?kind=knowhow", headers={"HX-Request": "true"}))
    template = form.select_one("[data-insert-template]")["data-insert-template"]
    headings = [line for line in template.splitlines() if line.startswith("#")]
    assert headings == ["## 課題", "## 工夫", "## 成果"]
    demo = next(p for p in POSTS if p.fields["kind"] == "knowhow")
    demo_headings = [line for line in demo.fields["body"].splitlines() if line.startswith("#")]
    assert headings == demo_headings
    rendered = render_markdown(template)
    assert rendered.count("<h3>") == 3
