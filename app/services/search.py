"""Japanese substring search over posts: the same results on PostgreSQL and SQLite.

A query is folded (app/services/textfold.py: width, case, kana, look-alikes, invisible
characters) and split into terms on whitespace; a post matches when every term is a
substring of its folded title or of its folded body. The fold is done in Python, once, when a
post is written: `posts.search_text` holds fold(title) + newline + fold(body) (`indexed_text`),
and both databases index that column, so they cannot fold differently. Japanese has no spaces
between words, so this is plain substring matching, never word matching. docs/search.md.

Indexes (migration 0023, which replaced 0003's) and the clauses that use them:

- PostgreSQL. `search_text` (a term never holds a newline, so it is in the joined text
  exactly when it is in the title or the body), compared exactly (it is folded already).
  * All terms have 3+ word characters in a row (ありがとう, 自動車保険): one
    `search_text LIKE '%term%'` per term, served by the pg_trgm GIN index
    ix_posts_search_trgm and exact after its recheck.
  * Any shorter term (感謝, 丁寧, 車): trigrams cannot serve it, so every term of the query
    goes through ix_posts_search_grams, a GIN index over each post's 1- and 2-character
    substrings (`arigato_search_folded_grams(search_text)`, a text[]): one
    `grams @> ARRAY[...]` with one key per term, plus an exact `strpos(search_text, term) <> 0`
    per term.
  The planner then walks ix_posts_feed newest-first for common terms and reads the GIN
  index for rare ones; see _postgresql() for why the clauses have this exact shape.
  Terms are written into the SQL as constants (U&'' literals, every ASCII character other
  than a letter or digit escaped), never as bind parameters: after five runs a prepared
  statement may switch to a generic plan, which cannot tell 感謝 (in a third of all posts:
  walk the feed index) from a rare word (read the GIN index) and would pick badly for one.
- SQLite. An FTS5 table with the trigram tokenizer over `search_text` (external content on
  posts, kept in step by triggers in the same transaction) narrows terms of 3+ characters;
  instr() decides. Shorter terms are plain scans (SQLite is the small deployment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.sql.elements import ColumnElement

from app.models import Post
from app.services.textfold import chunk_edge, fold, match_spans, without_final_long_vowel

MAX_TERMS = 5
MAX_TERM_LENGTH = 50

# What separates terms: Unicode whitespace (ASCII and the ideographic space U+3000 among it),
# plus characters no stored text can hold (NUL, lone surrogates), which could never match.
_SEPARATORS = re.compile("[\\s\x00\ud800-\udfff]+")
_LIKE_SPECIAL = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})

# SQLite: terms this long or longer go through the FTS5 trigram table.
_TRIGRAM = 3

_posts = cast(sa.Table, Post.__table__)  # type: ignore[attr-defined]

# Objects migration 0023 makes that the models do not describe: alembic's comparison must
# leave them alone (migrations/env.py uses these hooks).
SEARCH_TABLES = frozenset(
    {
        "posts_fts",
        "posts_fts_data",
        "posts_fts_idx",
        "posts_fts_docsize",
        "posts_fts_config",
        "posts_fts_content",
    }
)
SEARCH_INDEXES = frozenset({"ix_posts_search_trgm", "ix_posts_search_grams"})


def alembic_include_name(name: str | None, type_: str, parent_names: object = None) -> bool:
    """alembic `include_name` hook: skip the search tables and indexes."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


def alembic_include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """alembic `include_object` hook: skip the search tables and indexes."""
    return alembic_include_name(name, type_)


def indexed_text(title: str, body: str) -> str:
    """What `posts.search_text` holds for this title and body: every writer of a post's title
    or body sets it from here (services/posts, moderation/redaction, migration 0023)."""
    return fold(title) + "\n" + fold(body)


def search_terms(q: str) -> list[str]:
    """The folded terms of a query: at most 5, each cut to at most 50 characters, a katakana
    word's final ー dropped (textfold.without_final_long_vowel), repeats left out."""
    terms = [without_final_long_vowel(t[:MAX_TERM_LENGTH]) for t in _SEPARATORS.split(fold(q)) if t]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def post_text_filter(dialect_name: str, q: str) -> ColumnElement[bool] | None:
    """A WHERE clause on `posts`: every term of `q` is in the title or the body; None if blank.

    Use it as one more condition of the feed's statement, e.g.
    `select(...).where(posts.c.status == "published", clause)
    .order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(20)`.
    """
    terms = search_terms(q)
    if not terms:
        return None
    if dialect_name == "postgresql":
        return _postgresql(terms)
    return _sqlite(terms)


def _like_pattern(term: str) -> str:
    return "%" + term.translate(_LIKE_SPECIAL) + "%"


# PostgreSQL


def _pg_literal(value: str) -> ColumnElement[str]:
    """A text constant for PostgreSQL that user input cannot break out of.

    A U&'' literal with every ASCII character except letters and digits written as a
    \\XXXX escape: neither a quote nor a backslash can appear unescaped. Non-ASCII characters
    (Japanese) stay as they are for readable logs and EXPLAIN output. Needs
    standard_conforming_strings (PostgreSQL's default); without it the statement fails,
    it does not misread.
    """
    out = []
    for ch in value:
        code = ord(ch)
        if code > 0x7F or ch.isalnum():
            out.append(ch)
        else:
            out.append(f"\\{code:04X}")
    return sa.literal_column("U&'" + "".join(out) + "'", sa.Text)


_WORD_RUN = re.compile(r"[^\W_]{3}")


def _trigram_friendly(term: str) -> bool:
    """Can pg_trgm narrow this term? It needs 3 word characters in a row (it skips the rest)."""
    return _WORD_RUN.search(term) is not None


def _char_weight(ch: str) -> int:
    """How much a character narrows a search: kanji most, kana (hiragana is folded into
    katakana) and punctuation least."""
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or code >= 0x20000:
        return 3
    if ch.isascii() and ch.isalnum():
        return 2
    if 0x30A1 <= code <= 0x30FA or not ch.isalnum():
        return 0
    return 1


def _gram_key(term: str) -> str:
    """The one key of ix_posts_search_grams to look up for a term.

    The term itself if it has 1-2 characters (exact). For a longer term, one of its pairs,
    the one of the least common-looking characters (名義変更 -> 名義, アリガトウ -> アリ): a
    superset of the matches, which strpos then trims. Not all its pairs: the planner would
    multiply their frequencies as if they were independent, which pairs of one word are not,
    and take a word in 5% of the posts for one in 0.01%.
    """
    if len(term) <= 2:
        return term
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return max(pairs, key=lambda p: _char_weight(p[0]) + _char_weight(p[1]))


def _postgresql(terms: list[str]) -> ColumnElement[bool]:
    text = _posts.c.search_text  # folded already: compared exactly
    folded = terms
    if all(_trigram_friendly(t) for t in folded):
        # Each term is served by ix_posts_search_trgm and exact after its recheck. No ESCAPE
        # clause: backslash is PostgreSQL's default, and an explicit one hides the constant
        # pattern from pg_trgm behind like_escape().
        return sa.and_(*(text.like(_pg_literal(_like_pattern(t))) for t in folded))
    # A short term (感謝): every term goes through ix_posts_search_grams, as one condition
    # (GIN intersects the keys itself). Not mixed with pg_trgm: a bitmap that ANDs a trgm
    # scan rechecks every row against all index conditions, and recomputing the grams of
    # thousands of rows costs far more than the strpos re-checks below.
    keys = list(dict.fromkeys(_gram_key(t) for t in folded))
    wanted = sa.literal_column(
        "ARRAY[" + ", ".join(str(_pg_literal(k)) for k in keys) + "]::text[]",
        sa.ARRAY(sa.Text),
    )
    grams = sa.func.arigato_search_folded_grams(text, type_=sa.ARRAY(sa.Text))
    conditions: list[ColumnElement[bool]] = [
        # Exact, cheap, and estimated at ~1 (`<> 0` on an expression without statistics), so
        # the row estimate is the one from the grams statistics. The planner tests the
        # cheapest quals first: walking the feed index, only rows that pass these get their
        # grams computed.
        sa.func.strpos(text, _pg_literal(t)) != sa.literal_column("0", sa.Integer)
        for t in folded
    ]
    conditions.append(grams.op("@>", return_type=sa.Boolean)(wanted))
    return sa.and_(*conditions)


# SQLite

_fts = sa.table("posts_fts", sa.column("rowid"), sa.column("posts_fts"))


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _sqlite(terms: list[str]) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    long_terms: list[str] = []
    for term in terms:
        conditions.append(sa.func.instr(_posts.c.search_text, term) > 0)
        if len(term) >= _TRIGRAM:
            long_terms.append(term)
    if long_terms:
        # The trigram tokenizer matches a quoted phrase as a substring: a superset of the
        # instr() matches.
        match = " AND ".join(_fts_phrase(t) for t in long_terms)
        candidates = sa.select(_fts.c.rowid).where(_fts.c.posts_fts.match(match))
        # `id + 0`: SQLite must not drive the query from this list (it would fetch and sort
        # every match of a common word: 0.2 s at 100k posts); it walks the feed index
        # newest-first and probes the list, a few ms whatever the word.
        conditions.insert(0, (_posts.c.id + sa.literal_column("0", sa.Integer)).in_(candidates))
    return sa.and_(*conditions)


# Showing what was found


@dataclass(frozen=True, slots=True)
class Found:
    """A search result's title and, when the body matched, an excerpt of it, as HTML: the
    original text escaped, the matched characters in <mark>."""

    title: Markup | None
    excerpt: Markup | None


EXCERPT_BEFORE = 30
EXCERPT_CHARS = 120


def marked(text: str, spans: list[tuple[int, int]]) -> Markup:
    """`text` escaped, each span in <mark> (spans sorted and apart, as match_spans gives)."""
    out: list[str] = []
    at = 0
    for start, end in spans:
        out += [
            escape(text[at:start]),
            Markup("<mark>"),
            escape(text[start:end]),
            Markup("</mark>"),
        ]
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def found_in(title: str, body: str, q: str) -> Found | None:
    """Where the query's terms are in a post, to highlight; None for a blank query."""
    terms = search_terms(q)
    if not terms:
        return None
    title_spans = match_spans(title, terms)
    body_spans = match_spans(body, terms)
    excerpt = None
    if body_spans:
        first = body_spans[0][0]
        start = max(0, first - EXCERPT_BEFORE)
        end = min(len(body), max(start + EXCERPT_CHARS, body_spans[0][1]))
        # Whole chunks only: never cut between a kana and its voiced mark.
        start, end = chunk_edge(body, start), chunk_edge(body, end, forward=True)
        shown = [(max(a, start) - start, min(b, end) - start) for a, b in body_spans if a < end]
        excerpt = marked(body[start:end], shown)
        if start > 0:
            excerpt = Markup("…") + excerpt
        if end < len(body):
            excerpt += Markup("…")
    return Found(marked(title, title_spans) if title_spans else None, excerpt)
