"""search repair: bring the search functions and indexes to 0003's current definitions

Migration 0003 was edited after it first shipped (ff95dc1, then 1543baf, 86bdead, eab2f25).
A database that ran an earlier text of it kept that text's objects, since alembic runs a
revision once: one created at ff95dc1 has a one-argument arigato_search_grams(t text) and
indexes over the old expressions, so the two-argument calls of app/services/search.py fail
(short terms answer 500) while `alembic check` sees nothing (env.py leaves search objects out
of its comparison). This revision makes every database hold the objects 0003 makes today,
whatever history it came through.

The definitions are read from 0003 itself (one place, frozen like every migration on main).
Only a database whose objects differ is rebuilt: rebuilding both GIN indexes of a large posts
table holds its write lock for a while, and healthy databases need not pay for it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:00:00.000000
"""

import re
from collections.abc import Sequence
from types import ModuleType

from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_INDEXES = ("ix_posts_search_trgm", "ix_posts_search_grams")

# How PostgreSQL prints the indexes 0003 makes today (pg_get_indexdef, table unqualified).
# Only a check: should another server version print them otherwise, the indexes are rebuilt
# once more than needed, never left wrong.
PG_INDEX_DEFS = {
    "ix_posts_search_trgm": "CREATE INDEX ix_posts_search_trgm ON posts USING gin (arigato_search_text((title)::text, body) COLLATE \"C\" gin_trgm_ops) WITH (gin_pending_list_limit='256')",
    "ix_posts_search_grams": "CREATE INDEX ix_posts_search_grams ON posts USING gin (arigato_search_grams((title)::text, body)) WITH (gin_pending_list_limit='256')",
}

_FUNCTION = re.compile(r"FUNCTION (\w+)\(([^)]*)\).*?\bAS \$\$(.*)\$\$", re.DOTALL)


def _search_migration() -> ModuleType:
    module = context.script.get_revision("0003").module  # type: ignore[union-attr]
    assert isinstance(module, ModuleType)
    return module


def _pg_is_current(m: ModuleType) -> bool:
    bind = op.get_bind()
    wanted = set()
    for ddl in (m.PG_SEARCH_TEXT, m.PG_SEARCH_GRAMS):
        found = _FUNCTION.search(ddl)
        assert found is not None, ddl
        wanted.add(found.groups())
    have = set(
        bind.exec_driver_sql(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prosrc"
            " FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace"
            " AND p.proname IN ('arigato_search_text', 'arigato_search_grams')"
        ).all()
    )
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    indexes = {
        name: definition.replace(f" ON {schema}.posts ", " ON posts ")
        for name, definition in bind.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname IN ('ix_posts_search_trgm', 'ix_posts_search_grams')"
        )
    }
    return {tuple(row) for row in have} == wanted and indexes == PG_INDEX_DEFS


def _pg_repair(m: ModuleType) -> None:
    bind = op.get_bind()
    for name in SEARCH_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # Every signature there is, not only the ones history is known to have made.
    signatures = bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " WHERE p.pronamespace = current_schema()::regnamespace"
        " AND p.proname IN ('arigato_search_text', 'arigato_search_grams')"
    ).scalars()
    for signature in list(signatures):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for sql in m.PG_UPGRADE:  # extension, functions, indexes over every row, statistics
        op.execute(sql)


def _sqlite_repair(m: ModuleType) -> None:
    bind = op.get_bind()

    def squeeze(sql: str | None) -> str:
        return " ".join((sql or "").split())

    stored = dict(
        bind.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE name = 'posts_fts'"
            " OR (type = 'trigger' AND name LIKE 'posts_fts_%')"
        ).all()
    )
    wanted_triggers = {
        re.search(r"CREATE TRIGGER (\w+)", sql).group(1): sql  # type: ignore[union-attr]
        for sql in m.SQLITE_TRIGGERS
    }
    table_ok = squeeze(stored.get("posts_fts")) == squeeze(m.SQLITE_TABLE)
    triggers_ok = {k: squeeze(v) for k, v in stored.items() if k != "posts_fts"} == {
        k: squeeze(v) for k, v in wanted_triggers.items()
    }
    if table_ok and triggers_ok:
        return
    for name in stored:
        if name != "posts_fts":
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if not table_ok:
        op.execute("DROP TABLE IF EXISTS posts_fts")
        op.execute(m.SQLITE_TABLE)
    for sql in m.SQLITE_TRIGGERS:
        op.execute(sql)
    # Missing or different triggers may have let the index drift from posts: read it anew.
    op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")


def upgrade() -> None:
    m = _search_migration()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        if _pg_is_current(m):
            # Statistics targets are not part of the check: setting them again is cheap.
            for sql in m.PG_UPGRADE:
                if sql.startswith("ALTER INDEX"):
                    op.execute(sql)
        else:
            _pg_repair(m)
    elif dialect == "sqlite":
        _sqlite_repair(m)
    else:  # pragma: no cover
        raise NotImplementedError(f"search repair: no migration for {dialect}")


def downgrade() -> None:
    # Nothing to undo: the objects are 0003's, which its own downgrade removes.
    pass
