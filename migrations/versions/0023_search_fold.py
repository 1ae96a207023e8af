"""search fold: index the folded title and body (posts.search_text) on both databases

Search now compares folded text (app/services/textfold.py: width, case, kana, look-alikes,
invisible characters; docs/search.md). The fold is Python, so it is done once when a post is
written and stored in `posts.search_text`; both databases index that column instead of the
raw title and body:

- PostgreSQL: 0003's expression indexes and functions give way to a pg_trgm GIN index on
  search_text and a GIN index over its 1- and 2-character grams
  (`arigato_search_folded_grams`), under the same index names.
- SQLite: the FTS5 trigram table `posts_fts` now holds search_text (external content on
  posts, kept in step by triggers, as before).

Every existing post is folded here, with the app's own fold (`indexed_text`): the index
must hold what today's queries are folded to. A later change to the fold needs a migration
that does this again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence
from types import ModuleType

import sqlalchemy as sa
from alembic import context, op

from app.services.search import indexed_text

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000

# Every 1- and 2-character substring of the folded text: the characters, then the pairs at
# odd and at even offsets (as 0003's arigato_search_grams, without its lower(): the text is
# folded already). Pairs across the title/body newline are stray pieces no term asks for.
PG_SEARCH_GRAMS = r"""
CREATE OR REPLACE FUNCTION arigato_search_folded_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT string_to_array(t, NULL)
        || string_to_array(regexp_replace(t, '..', E'\\&\n', 'g'), E'\n')
        || string_to_array(regexp_replace(substr(t, 2), '..', E'\\&\n', 'g'), E'\n')
$$
"""

PG_OLD = (
    "DROP INDEX IF EXISTS ix_posts_search_grams",
    "DROP INDEX IF EXISTS ix_posts_search_trgm",
    "DROP FUNCTION IF EXISTS arigato_search_grams(text, text)",
    "DROP FUNCTION IF EXISTS arigato_search_text(text, text)",
)

PG_UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    PG_SEARCH_GRAMS,
    # A small pending list (fastupdate): no second-long stall when an insert has to flush it.
    "CREATE INDEX ix_posts_search_trgm ON posts USING gin (search_text gin_trgm_ops) WITH (gin_pending_list_limit = 256)",
    "CREATE INDEX ix_posts_search_grams ON posts USING gin (arigato_search_folded_grams(search_text)) WITH (gin_pending_list_limit = 256)",
    # Finer statistics (as 0003 had on its expressions): the planner's choice between walking
    # the feed index newest-first and reading a GIN index rests on these estimates.
    "ALTER TABLE posts ALTER COLUMN search_text SET STATISTICS 1000",
    "ALTER INDEX ix_posts_search_grams ALTER COLUMN 1 SET STATISTICS 1000",
)

PG_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_posts_search_grams",
    "DROP INDEX IF EXISTS ix_posts_search_trgm",
    "DROP FUNCTION IF EXISTS arigato_search_folded_grams(text)",
)

# SQLite. The text is folded already: the tokenizer need not fold case again.
SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "search_text, content='posts', content_rowid='id', tokenize='trigram case_sensitive 1')"
)

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
    """
    CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END
    """,
    """
    CREATE TRIGGER posts_fts_update AFTER UPDATE OF search_text ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END
    """,
)

SQLITE_REBUILD = "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')"

SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TABLE IF EXISTS posts_fts",
)


def _fold_every_post(dialect: str) -> None:
    """search_text for every post, in batches by id (a million posts: a few minutes)."""
    bind = op.get_bind()
    posts = sa.table(
        "posts", sa.column("id"), sa.column("title"), sa.column("body"), sa.column("search_text")
    )
    if dialect == "postgresql":
        write = sa.text(
            "UPDATE posts SET search_text = v.t"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:texts AS text[])) AS v(id, t)"
            " WHERE posts.id = v.id"
        )
    else:
        write = (
            sa.update(posts)
            .where(posts.c.id == sa.bindparam("pid"))
            .values(search_text=sa.bindparam("text"))
        )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(posts.c.id, posts.c.title, posts.c.body)
            .where(posts.c.id > last)
            .order_by(posts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        folded = [(row.id, indexed_text(row.title, row.body)) for row in rows]
        if dialect == "postgresql":
            bind.execute(write, {"ids": [i for i, _t in folded], "texts": [t for _i, t in folded]})
        else:
            bind.execute(write, [{"pid": i, "text": t} for i, t in folded])
        last = rows[-1].id


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover
        raise NotImplementedError(f"search fold: no migration for {dialect}")
    pg = dialect == "postgresql"
    for sql in PG_OLD if pg else SQLITE_DROP:
        op.execute(sql)
    # Not a batch (table copy) on SQLite: a plain ADD COLUMN keeps the table and its triggers.
    op.add_column("posts", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _fold_every_post(dialect)
    for sql in PG_UPGRADE if pg else (SQLITE_TABLE, *SQLITE_TRIGGERS, SQLITE_REBUILD):
        op.execute(sql)


def _search_migration() -> ModuleType:
    module = context.script.get_revision("0003").module  # type: ignore[union-attr]
    assert isinstance(module, ModuleType)
    return module


def downgrade() -> None:
    """Back to 0003's objects over the raw title and body (read from 0003 itself)."""
    old = _search_migration()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for sql in PG_DOWNGRADE:
            op.execute(sql)
        op.drop_column("posts", "search_text")
        for sql in old.PG_UPGRADE:
            op.execute(sql)
    elif dialect == "sqlite":
        for sql in SQLITE_DROP:
            op.execute(sql)
        op.execute("ALTER TABLE posts DROP COLUMN search_text")
        op.execute(old.SQLITE_TABLE)
        for sql in old.SQLITE_TRIGGERS:
            op.execute(sql)
        op.execute(SQLITE_REBUILD)
