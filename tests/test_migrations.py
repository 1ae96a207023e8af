"""One alembic history: an empty database upgrades to head and matches the models exactly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from app.config import get_settings
from app.migrate import upgrade_to_head
from app.services import search
from tests.conftest import IS_PG, _admin_pg, _pg_url, db_name


def _fresh_url(tmp_path, name):
    if IS_PG:
        _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_pg(f'CREATE DATABASE "{name}"')
        return _pg_url(name)
    return f"sqlite:///{tmp_path}/{name}.db"


def test_empty_database_upgrades_to_head_without_drift(tmp_path, monkeypatch):
    name = db_name("migrate_check")
    url = _fresh_url(tmp_path, name)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        upgrade_to_head()
        upgrade_to_head()  # a second run is a no-op
        engine = sa.create_engine(get_settings().sync_database_url)
        with engine.connect() as conn:
            # The same filters as migrations/env.py: search tables live outside the models.
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": search.alembic_include_name,
                    "include_object": search.alembic_include_object,
                },
            )
            diff = compare_metadata(ctx, SQLModel.metadata)
            tables = set(sa.inspect(conn).get_table_names())
        engine.dispose()
        assert diff == []
        assert {"posts", "users", "org_units", "likes", "comments", "alembic_version"} <= tables
        if not IS_PG:
            assert "posts_fts" in tables
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        if IS_PG:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
