"""Japanese substring search over posts: the same results on PostgreSQL and SQLite.

A query is split into terms on whitespace; a post matches when every term is a substring of
its title or of its body, ASCII letters compared case-insensitively (only those: SQLite's
LIKE folds nothing else, and both databases must agree). Japanese has no spaces between
words, so this is plain substring matching, never word matching.

Indexes (migration 0003) and the clauses that use them:

- PostgreSQL. `arigato_search_text(title, body)` is title + newline + body (a term never
  holds a newline, so it is in the joined text exactly when it is in one of them), compared
  under the "C" collation, where ILIKE and lower() fold ASCII letters only.
  * All terms have 3+ word characters in a row (ありがとう, 自動車保険): one
    `text COLLATE "C" ILIKE '%term%'` per term, served by the pg_trgm GIN index
    ix_posts_search_trgm and exact after its recheck.
  * Any shorter term (感謝, 丁寧, 車): trigrams cannot serve it, so every term of the query
    goes through ix_posts_search_grams, a GIN index over each post's 1- and 2-character
    substrings (`arigato_search_grams(title, body)`, a text[]): one `grams @> ARRAY[...]`
    with one key per term, plus an exact `strpos(lower(text), term) <> 0` per term.
  The planner then walks ix_posts_feed newest-first for common terms and reads the GIN
  index for rare ones; see _postgresql() for why the clauses have this exact shape.
  Terms are written into the SQL as constants (U&'' literals, every ASCII character other
  than a letter or digit escaped), never as bind parameters: after five runs a prepared
  statement may switch to a generic plan, which cannot tell 感謝 (in a third of all posts:
  walk the feed index) from a rare word (read the GIN index) and would pick badly for one.
- SQLite. An FTS5 table with the trigram tokenizer (external content on posts, kept in step
  by triggers in the same transaction) narrows terms of 3+ characters; LIKE decides.
  Shorter terms are plain LIKE scans (SQLite is the small deployment).
"""

from __future__ import annotations

import re
from typing import cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from app.models import Post

MAX_TERMS = 5
MAX_TERM_LENGTH = 50

# What separates terms: Unicode whitespace (ASCII and the ideographic space U+3000 among it),
# plus characters no stored text can hold (NUL, lone surrogates), which could never match.
_SEPARATORS = re.compile("[\\s\x00\ud800-\udfff]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LIKE_SPECIAL = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})

# SQLite: terms this long or longer go through the FTS5 trigram table.
_TRIGRAM = 3

_posts = cast(sa.Table, Post.__table__)  # type: ignore[attr-defined]

# Objects migration 0003 makes that the models do not describe: alembic's comparison must
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


def search_terms(q: str) -> list[str]:
    """The terms of a query, as typed: at most 5, each cut to at most 50 characters."""
    terms = [t[:MAX_TERM_LENGTH] for t in _SEPARATORS.split(q) if t]
    return terms[:MAX_TERMS]


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
    """How much a character narrows a search: kanji most, hiragana and punctuation least."""
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or code >= 0x20000:
        return 3
    if 0x30A1 <= code <= 0x30FA or (ch.isascii() and ch.isalnum()):
        return 2
    if 0x3041 <= code <= 0x309F or not ch.isalnum():
        return 0
    return 1


def _gram_key(term: str) -> str:
    """The one key of ix_posts_search_grams to look up for a term.

    The term itself if it has 1-2 characters (exact). For a longer term, one of its pairs,
    the one of the least common-looking characters (名義変更 -> 名義, ありがとう -> あり): a
    superset of the matches, which strpos then trims. Not all its pairs: the planner would
    multiply their frequencies as if they were independent, which pairs of one word are not,
    and take a word in 5% of the posts for one in 0.01%.
    """
    if len(term) <= 2:
        return term
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return max(pairs, key=lambda p: _char_weight(p[0]) + _char_weight(p[1]))


def _postgresql(terms: list[str]) -> ColumnElement[bool]:
    # Under the "C" collation ILIKE and lower() fold ASCII letters only, as SQLite does.
    text = sa.collate(
        sa.func.arigato_search_text(_posts.c.title, _posts.c.body, type_=sa.Text), "C"
    )
    folded = list(dict.fromkeys(t.translate(_ASCII_LOWER) for t in terms))
    if all(_trigram_friendly(t) for t in folded):
        # Each term is served by ix_posts_search_trgm (same expression, same collation) and
        # exact after its recheck. No ESCAPE clause: backslash is PostgreSQL's default, and
        # an explicit one hides the constant pattern from pg_trgm behind like_escape().
        return sa.and_(*(text.ilike(_pg_literal(_like_pattern(t))) for t in folded))
    # A short term (感謝): every term goes through ix_posts_search_grams, as one condition
    # (GIN intersects the keys itself). Not mixed with pg_trgm: a bitmap that ANDs a trgm
    # scan rechecks every row against all index conditions, and recomputing the grams of
    # thousands of rows costs far more than the strpos re-checks below.
    keys = list(dict.fromkeys(_gram_key(t) for t in folded))
    wanted = sa.literal_column(
        "ARRAY[" + ", ".join(str(_pg_literal(k)) for k in keys) + "]::text[]",
        sa.ARRAY(sa.Text),
    )
    grams = sa.func.arigato_search_grams(_posts.c.title, _posts.c.body, type_=sa.ARRAY(sa.Text))
    conditions: list[ColumnElement[bool]] = [
        # Exact, cheap, and estimated at ~1 (`<> 0` on an expression without statistics), so
        # the row estimate is the one from the grams statistics. The planner tests the
        # cheapest quals first: walking the feed index, only rows that pass these get their
        # grams computed.
        sa.func.strpos(sa.func.lower(text), _pg_literal(t)) != sa.literal_column("0", sa.Integer)
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
    for term in dict.fromkeys(terms):
        pattern = _like_pattern(term)
        conditions.append(
            sa.or_(
                _posts.c.title.like(pattern, escape="\\"),
                _posts.c.body.like(pattern, escape="\\"),
            )
        )
        if len(term) >= _TRIGRAM:
            long_terms.append(term)
    if long_terms:
        # The trigram tokenizer folds case (more widely than ASCII) and matches a quoted
        # phrase as a substring of one column: a superset of the LIKE matches.
        match = " AND ".join(_fts_phrase(t) for t in long_terms)
        candidates = sa.select(_fts.c.rowid).where(_fts.c.posts_fts.match(match))
        # `id + 0`: SQLite must not drive the query from this list (it would fetch and sort
        # every match of a common word: 0.2 s at 100k posts); it walks the feed index
        # newest-first and probes the list, a few ms whatever the word.
        conditions.insert(0, (_posts.c.id + sa.literal_column("0", sa.Integer)).in_(candidates))
    return sa.and_(*conditions)
