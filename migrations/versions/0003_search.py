"""search: Japanese substring search over posts (title and body)

PostgreSQL: pg_trgm GIN index for terms of 3+ characters and a GIN index over the post's
1- and 2-character grams (text[]) for shorter terms, both on IMMUTABLE SQL functions.
SQLite: an FTS5 trigram table with external content on posts, kept in sync by triggers.
app/services/search.py builds the matching WHERE clauses; keep the two in step.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The searched text: title and body joined by a newline, which is never part of a term (terms
# are split on whitespace), so a term is in the joined text exactly when it is in one of them.
# Queries compare it under the "C" collation (ILIKE, lower): ASCII letters fold, nothing else,
# as with SQLite's LIKE; both databases must give the same results.
PG_SEARCH_TEXT = r"""
CREATE OR REPLACE FUNCTION arigato_search_text(title text, body text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT title || E'\n' || body $$
"""

# Every 1- and 2-character substring of that text, ASCII letters in lower case: the characters,
# then the pairs at odd and at even offsets (regexp_replace puts a newline after each pair and
# string_to_array cuts there). Pairs that hold a newline come out as stray pieces: harmless,
# as no term holds a newline, and the query re-checks with strpos anyway; repeats are harmless
# too (GIN keeps each key once). So a 1- or 2-character term is in the text exactly when it is
# one of these, and `grams @> ARRAY[term]` serves it. Written for speed (about 10-20 us for a
# 150-character post): PostgreSQL recomputes it whenever a bitmap heap scan rechecks a row.
PG_SEARCH_GRAMS = r"""
CREATE OR REPLACE FUNCTION arigato_search_grams(title text, body text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT string_to_array(t, NULL)
        || string_to_array(regexp_replace(t, '..', E'\\&\n', 'g'), E'\n')
        || string_to_array(regexp_replace(substr(t, 2), '..', E'\\&\n', 'g'), E'\n')
    FROM lower((title || E'\n' || body) COLLATE "C") AS t
$$
"""

PG_UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    PG_SEARCH_TEXT,
    PG_SEARCH_GRAMS,
    # A small pending list (fastupdate): no second-long stall when an insert has to flush it.
    'CREATE INDEX ix_posts_search_trgm ON posts USING gin (arigato_search_text(title, body) COLLATE "C" gin_trgm_ops) WITH (gin_pending_list_limit = 256)',
    "CREATE INDEX ix_posts_search_grams ON posts USING gin (arigato_search_grams(title, body)) WITH (gin_pending_list_limit = 256)",
    # Finer statistics on the indexed expressions: the planner's choice between walking the
    # feed index newest-first and reading the GIN index rests on these estimates.
    "ALTER INDEX ix_posts_search_trgm ALTER COLUMN 1 SET STATISTICS 1000",
    "ALTER INDEX ix_posts_search_grams ALTER COLUMN 1 SET STATISTICS 1000",
)

PG_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_posts_search_grams",
    "DROP INDEX IF EXISTS ix_posts_search_trgm",
    "DROP FUNCTION IF EXISTS arigato_search_grams(text, text)",
    "DROP FUNCTION IF EXISTS arigato_search_text(text, text)",
    # Only if nothing else has come to depend on it.
    """
    DO $$
    BEGIN
        DROP EXTENSION IF EXISTS pg_trgm;
    EXCEPTION WHEN dependent_objects_still_exist THEN
        NULL;
    END
    $$
    """,
)

# SQLite. Note: a batch migration that recreates `posts` (copy, drop, rename) drops these
# triggers with the old table; such a migration must run SQLITE_TRIGGERS again.
SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "title, body, content='posts', content_rowid='id', tokenize='trigram')"
)

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    """
    CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, body ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO posts_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
)

SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TABLE IF EXISTS posts_fts",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for sql in PG_UPGRADE:
            op.execute(sql)
    elif dialect == "sqlite":
        op.execute(SQLITE_TABLE)
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
        # Existing rows: rebuild reads the whole content table (posts).
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
    else:  # pragma: no cover
        raise NotImplementedError(f"search: no migration for {dialect}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for sql in PG_DOWNGRADE:
            op.execute(sql)
    elif dialect == "sqlite":
        for sql in SQLITE_DOWNGRADE:
            op.execute(sql)
