"""Process-level settings made at startup."""

from __future__ import annotations

import gc

import pytest

from app.main import create_app


async def test_startup_moves_long_lived_objects_out_of_the_collectors_view() -> None:
    """Full garbage collections must not walk the modules and routes loaded at startup
    (a ~90 ms pause for every request in flight, the KPI's p95 tail in the benchmark)."""
    gc.unfreeze()
    app = create_app()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_templates_are_rechecked_on_disk_only_in_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    """In production a page must not stat() every partial it includes on each request."""
    from app import templating
    from app.config import get_settings

    try:
        for env, reloads in (("production", False), ("dev", True)):
            monkeypatch.setenv("ARIGATO_ENV", env)
            monkeypatch.setenv("SECRET_KEY", "x" * 48)
            get_settings.cache_clear()
            create_app()
            assert templating.env.auto_reload is reloads
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        create_app()
