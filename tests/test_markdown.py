"""Tests for app.services.markdown: rendering, sanitising and XSS resistance."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bs4.element import Tag
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.markdown import render_comment, render_markdown
from tests.factories import soup

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it

Renderer = Callable[[str], str]

POST_TAGS = {
    "p", "br", "strong", "em", "del", "s",
    "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4", "a",
    "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
COMMENT_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "a"}
DANGEROUS_TAGS = {
    "script", "iframe", "style", "img", "object", "embed", "svg", "math",
    "form", "input", "link", "meta", "base", "frame", "frameset", "video", "audio",
}  # fmt: skip
BAD_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")

RENDERERS = pytest.mark.parametrize(
    "render", [render_markdown, render_comment], ids=["post", "comment"]
)


def tags(html: str) -> list[Tag]:
    return soup(html).find_all(True)


def rel_values(a: Tag) -> list[str]:
    rel = a.get("rel")
    if rel is None:
        return []
    return list(rel) if not isinstance(rel, str) else rel.split()


def assert_safe(html: str, allowed_tags: set[str]) -> None:
    """No executable element/attribute; only allow-listed tags and a[href]."""
    for el in tags(html):
        assert el.name not in DANGEROUS_TAGS, html
        assert el.name in allowed_tags, html
        for attr, value in el.attrs.items():
            assert not attr.lower().startswith("on"), html
            if el.name == "a":
                assert attr in {"href", "rel"}, html
            else:
                pytest.fail(f"unexpected attribute {attr!r} on <{el.name}>: {html}")
            if attr == "href":
                href = "".join(str(value).split()).lower()
                assert not href.startswith(BAD_SCHEMES), html
        if el.name == "a":
            rel = rel_values(el)
            assert "noopener" in rel, html
            assert "nofollow" in rel, html
            assert "target" not in el.attrs, html


# --- basic rendering -------------------------------------------------------


def test_bold_italic_strikethrough() -> None:
    html = render_markdown("**太字** と *斜体* と ~~取消~~")
    s = soup(html)
    assert s.find("strong").get_text() == "太字"  # type: ignore[union-attr]
    assert s.find("em").get_text() == "斜体"  # type: ignore[union-attr]
    assert s.find("s").get_text() == "取消"  # type: ignore[union-attr]


def test_lists() -> None:
    s = soup(render_markdown("- りんご\n- みかん\n\n1. 一\n2. 二"))
    assert [li.get_text() for li in s.select("ul > li")] == ["りんご", "みかん"]
    assert [li.get_text() for li in s.select("ol > li")] == ["一", "二"]


def test_link_gets_rel_and_no_target() -> None:
    html = render_markdown('[店舗ページ](https://example.com/shop "title")')
    a = soup(html).find("a")
    assert isinstance(a, Tag)
    assert a["href"] == "https://example.com/shop"
    assert set(rel_values(a)) == {"noopener", "nofollow"}
    assert "target" not in a.attrs
    assert "title" not in a.attrs
    assert a.get_text() == "店舗ページ"


def test_mailto_and_relative_links_allowed() -> None:
    s = soup(render_markdown("[mail](mailto:shop@example.com) [post](/posts/1)"))
    assert [a["href"] for a in s.find_all("a")] == ["mailto:shop@example.com", "/posts/1"]


def test_single_newline_becomes_br() -> None:
    html = render_markdown("一行目\n二行目")
    p = soup(html).find("p")
    assert isinstance(p, Tag)
    assert p.find("br") is not None
    assert p.get_text() == "一行目\n二行目"


def test_paragraphs() -> None:
    assert len(soup(render_markdown("段落1\n\n段落2")).find_all("p")) == 2


def test_headings_demoted_to_h3_h4() -> None:
    s = soup(render_markdown("# 大見出し\n## 中\n### 小\n###### 極小\n\nSetext\n======"))
    assert not s.find_all(["h1", "h2", "h5", "h6"])
    assert [h.get_text() for h in s.find_all("h3")] == ["大見出し", "中", "Setext"]
    assert [h.get_text() for h in s.find_all("h4")] == ["小", "極小"]


def test_blockquote_code_hr_table() -> None:
    text = "> 引用\n\n`inline`\n\n```\nblock <b>\n```\n\n---\n\n| a | b |\n|:--|--:|\n| 1 | 2 |"
    html = render_markdown(text)
    s = soup(html)
    assert s.find("blockquote") is not None
    assert s.find("pre") is not None
    assert s.find("pre").get_text() == "block <b>\n"  # type: ignore[union-attr]
    assert s.find("hr") is not None
    assert [td.get_text() for td in s.find_all("td")] == ["1", "2"]
    # alignment style attributes from the table renderer are stripped
    assert "style" not in html
    assert_safe(html, POST_TAGS)


def test_images_are_disabled() -> None:
    html = render_markdown("![写真](https://example.com/a.png)")
    assert soup(html).find("img") is None
    assert_safe(html, POST_TAGS)


def test_empty_input() -> None:
    assert render_markdown("") == ""
    assert render_comment("") == ""


def test_returns_plain_str() -> None:
    assert type(render_markdown("x")) is str
    assert type(render_comment("x")) is str


# --- comments --------------------------------------------------------------


def test_comment_inline_formatting_and_links() -> None:
    html = render_comment("**ありがとう** *ございます*\n[link](https://example.com) `code`")
    s = soup(html)
    assert s.find("strong") is not None
    assert s.find("em") is not None
    assert s.find("br") is not None
    assert s.find("code") is not None
    a = s.find("a")
    assert isinstance(a, Tag)
    assert set(rel_values(a)) == {"noopener", "nofollow"}


@pytest.mark.parametrize(
    "text",
    [
        "# 見出し",
        "見出し\n===",
        "- item",
        "1. item",
        "> quote",
        "    indented code",
        "```\nfence\n```",
        "---",
        "| a | b |\n|---|---|\n| 1 | 2 |",
    ],
)
def test_comment_has_no_block_elements(text: str) -> None:
    html = render_comment(text)
    assert_safe(html, COMMENT_TAGS)
    assert not soup(html).find_all(
        ["h1", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "pre", "hr", "table"]
    )


# --- XSS -------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>body{display:none}</style>",
    "<svg onload=alert(1)>",
    "<div onclick=alert(1)>click</div>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x]( javascript:alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    '[x](https://ok.example" onmouseover="alert(1))',
    '<https://ok.example" onmouseover="alert(1)>',
    "![x](javascript:alert(1))",
    '![x](https://ok.example/a.png" onerror="alert(1))',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<!-- <script>alert(1)</script> -->",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "**<img src=x onerror=alert(1)>**",
    "> <iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "- <a href=javascript:alert(1)>x</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=javascript:alert(1)><input type=submit></form>",
    "<object data=javascript:alert(1)></object>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
]


@RENDERERS
@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_neutralised(render: Renderer, payload: str) -> None:
    html = render(payload)
    allowed = POST_TAGS if render is render_markdown else COMMENT_TAGS
    assert_safe(html, allowed)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "<img" not in lowered
    assert "<style" not in lowered
    assert (
        "javascript:"
        not in "".join(str(a.get("href", "")) for a in soup(html).find_all("a")).lower()
    )


@RENDERERS
def test_raw_html_is_escaped_as_text(render: Renderer) -> None:
    html = render("<script>alert(1)</script>")
    assert "&lt;script&gt;" in html
    assert soup(html).get_text().strip() == "<script>alert(1)</script>"


@RENDERERS
def test_entity_text_stays_text(render: Renderer) -> None:
    html = render("&lt;script&gt;")
    assert soup(html).find("script") is None
    assert soup(html).get_text().strip() == "<script>"


# --- Japanese text ---------------------------------------------------------


@RENDERERS
def test_japanese_text_survives(render: Renderer) -> None:
    text = "「ありがとう」、ございます。\u3000全角スペース、絵文字🙏　半角ｶﾀｶﾅ、①②、〜ー"
    html = render(text)
    assert soup(html).get_text().strip() == text
    assert "\u3000" in html
    assert "🙏" in html


def test_japanese_in_formatting() -> None:
    html = render_markdown("「**ありがとう**」と言われました🙏\n*店長*より")
    s = soup(html)
    assert s.find("strong").get_text() == "ありがとう"  # type: ignore[union-attr]
    assert s.find("em").get_text() == "店長"  # type: ignore[union-attr]
    assert "🙏" in s.get_text()
    assert s.get_text() == "「ありがとう」と言われました🙏\n店長より\n"


@pytest.mark.xfail(
    strict=True,
    reason="CommonMark flanking rules: '**' after CJK punctuation and before a letter "
    "does not close emphasis (known CJK limitation of the spec, not a safety issue)",
)
def test_known_limitation_emphasis_around_cjk_punctuation() -> None:
    html = render_markdown("**「ありがとう」**と言われました")
    assert soup(html).find("strong") is not None


# --- property tests --------------------------------------------------------

# Bias generated text towards Markdown/HTML metacharacters and scheme names so
# that the interesting paths get exercised, not just plain paragraphs.
_FRAGMENTS = st.sampled_from(
    [
        "<", ">", "&", '"', "'", "`", "*", "_", "~", "[", "]", "(", ")", "!", "#", "-",
        "|", ":", "\n", "\n\n", " ", "    ", "\\", "=", "/",
        "javascript:", "JavaScript:", "data:", "vbscript:", "http://", "https://x.jp/",
        "mailto:", "<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href=",
        "<iframe>", "<style>", "onerror=", "onclick=", "&#106;", "&#x3C;", "&lt;", "&gt;",
        "&amp;", "]( ", "](", "[x]: ", "```", "> ", "1. ", "- ", "# ", "|---|",
        "ありがとう", "「", "」", "\u3000", "🙏",
    ]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=5)), max_size=40).map("".join)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(), _TEXT))
def test_property_render_markdown_only_allowed_output(text: str) -> None:
    assert_safe(render_markdown(text), POST_TAGS)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(), _TEXT))
def test_property_render_comment_only_allowed_output(text: str) -> None:
    assert_safe(render_comment(text), COMMENT_TAGS)


_PLAIN_CHARS = st.sampled_from(
    [*"ありがとうございます店長全角カタカナ、。「」・ー〜！？abcXYZ", "\u3000", "🙏", "😊"]
)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(_PLAIN_CHARS, min_size=1, max_size=40).map("".join))
def test_property_japanese_plain_text_survives_verbatim(text: str) -> None:
    # Inner text (including full-width spaces and emoji) is never altered.
    for render in (render_markdown, render_comment):
        html = render(text)
        assert soup(html).get_text().strip("\n") == text.strip(), html
