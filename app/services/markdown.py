"""Render user-written Markdown (posts and comments) to sanitised HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

__all__ = ["Preview", "render_comment", "render_markdown", "render_preview"]

# Design notes
# ------------
# * Two layers: markdown-it renders with ``html=False`` (raw HTML is escaped as
#   text and its own link validator already drops javascript:/vbscript:/file:/
#   data: URLs), then nh3 (ammonia) enforces a strict allow-list on the result.
#   Either layer alone should be enough; together a bug in one is not an XSS.
# * ``breaks=True``: staff type line breaks in Japanese text and expect them
#   kept, so a single newline becomes ``<br>``.
# * Headings: the page already owns <h1>/<h2>, so headings are *demoted* rather
#   than stripped: ``#``/``##`` (and setext) become <h3>, ``###`` and deeper
#   become <h4>.  This is done on the token stream by a core rule, so the
#   sanitiser only ever sees h3/h4.
# * Images are disabled: attachments are uploaded separately.  ``![a](u)``
#   then renders as the literal ``!`` followed by a link.
# * Relative URLs (``/posts/1``, ``#top``) pass through; absolute URLs must be
#   http, https or mailto.  No ``target`` attribute is ever emitted; every <a>
#   gets ``rel="noopener nofollow"`` from nh3 (any author-supplied rel is
#   replaced, since rel is not in the attribute allow-list).  The only
#   attribute kept is a[href]; link titles (``[a](u "t")``) are dropped.
# * The MarkdownIt parsers and nh3 cleaners are built once at import time; the
#   render functions are pure (no I/O, no shared mutable state per call).

_LINK_REL: Final = "noopener nofollow"
_URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
# "*" must be given explicitly: otherwise ammonia's default generic attributes
# (lang, title) would be allowed on every tag.
_ATTRIBUTES: Final = {"a": frozenset({"href"}), "*": frozenset[str]()}

_POST_TAGS: Final = frozenset(
    {
        "p", "br", "strong", "em", "del", "s",
        "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4", "a",
        "table", "thead", "tbody", "tr", "th", "td", "hr",
    }
)  # fmt: skip
_COMMENT_TAGS: Final = frozenset({"p", "br", "strong", "em", "del", "s", "code", "a"})

_HEADING_TAGS: Final = {"h1": "h3", "h2": "h3", "h3": "h4", "h4": "h4", "h5": "h4", "h6": "h4"}

# Block rules that comments do not get: only paragraphs (with inline
# formatting, links and hard line breaks) are left.
_COMMENT_DISABLED_BLOCK_RULES: Final = [
    "table", "code", "fence", "blockquote", "hr", "list",
    "reference", "html_block", "heading", "lheading",
]  # fmt: skip


def _demote_headings(state: StateCore) -> None:
    """Core rule: map h1/h2 to h3 and h3-h6 to h4."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_TAGS.get(token.tag, "h4")


def _base_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    return md


def _build_post_parser() -> MarkdownIt:
    md = _base_parser()
    md.core.ruler.push("demote_headings", _demote_headings)
    return md


def _build_comment_parser() -> MarkdownIt:
    md = _base_parser()
    md.disable(_COMMENT_DISABLED_BLOCK_RULES)
    return md


def _build_cleaner(tags: frozenset[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=frozenset({"script", "style"}),
        attributes=_ATTRIBUTES,
        strip_comments=True,
        link_rel=_LINK_REL,
        url_schemes=_URL_SCHEMES,
    )


_POST_MD: Final = _build_post_parser()
_COMMENT_MD: Final = _build_comment_parser()
_POST_CLEANER: Final = _build_cleaner(_POST_TAGS)
_COMMENT_CLEANER: Final = _build_cleaner(_COMMENT_TAGS)


def render_markdown(text: str) -> str:
    """Render a post body (Markdown subset) to sanitised HTML.

    Supports paragraphs, line breaks, bold, italics, strikethrough, inline
    code, code blocks, lists, blockquotes, tables, horizontal rules, links and
    headings (demoted to h3/h4).  The result is a plain ``str`` that is safe to
    insert into a page; wrapping it in ``Markup`` is the caller's decision.
    """
    return _POST_CLEANER.clean(_POST_MD.render(text))


def render_comment(text: str) -> str:
    """Render a comment: inline formatting, line breaks and links only.

    Block syntax (headings, lists, tables, blockquotes, code blocks, rules) is
    left as literal text inside paragraphs.
    """
    return _COMMENT_CLEANER.clean(_COMMENT_MD.render(text))


# A card in a list shows the beginning of a long post, cut where a line ends (never inside a
# line: a clamp by height cut lines in half) and followed by a "read more" link.
PREVIEW_CHARS: Final = 200  # some ten lines of Japanese on a phone, four on a desktop
PREVIEW_LINES: Final = 6  # lines with text (a heading or a list item is one)
_SENTENCE_END = re.compile(r"[。！？!?.](?=\s|$)|[。！？]")
_HEADING = re.compile(r"^\s{0,3}(#{1,6}\s|#{1,6}$)")


@dataclass(frozen=True, slots=True)
class Preview:
    html: str
    more: bool  # the post goes on after what is shown


def _first_sentences(line: str, budget: int) -> str:
    """A line too long to show whole: its sentences that fit (or, with none ending in
    time, the budget's worth of characters), marked as cut."""
    ends = [m.end() for m in _SENTENCE_END.finditer(line[: budget + 1])]
    return (line[: ends[-1]] if ends else line[:budget]).rstrip() + "…"


def render_preview(text: str, html: str | None = None) -> Preview:
    """The beginning of a post body for a card: whole lines (paragraphs, list items,
    headings) up to PREVIEW_CHARS characters and PREVIEW_LINES lines, rendered like the post.
    A short post is `html` itself (its stored rendering) when given."""
    lines = text.splitlines()
    kept: list[str] = []
    chars = shown = 0
    cut = False
    for index, line in enumerate(lines):
        size = len(line.strip())
        if size and (shown >= PREVIEW_LINES or chars + size > PREVIEW_CHARS):
            if not shown:  # one long first paragraph: its first sentences
                kept.append(_first_sentences(line, PREVIEW_CHARS))
            cut = any(rest.strip() for rest in lines[index:])
            break
        kept.append(line)
        chars += size
        shown += 1 if size else 0
    if not cut:
        return Preview(html if html is not None else render_markdown(text), False)
    # A heading whose text is not shown (or blank lines) does not end a preview, unless the
    # preview would have nothing else.
    trimmed = list(kept)
    while trimmed and (not trimmed[-1].strip() or _HEADING.match(trimmed[-1])):
        trimmed.pop()
    return Preview(render_markdown("\n".join(trimmed if trimmed else kept)), True)
