"""The integrations' tests share: the app's clock, local receivers allowed, a drainer run
step by step in the test's transaction, and a small org (HQ > 関東 > 新宿店, 関西 > 梅田店)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.routes import router as pages
from app.services.integrations.drainer import Drainer
from tests.factories import make_units, make_user, stopped_clock
from tests.integrations.receivers import Receiver

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.fixture
def at():  # type: ignore[no-untyped-def]
    with stopped_clock(NOW) as set_to:
        yield set_to


@pytest.fixture
def allow_local(monkeypatch):  # type: ignore[no-untyped-def]
    # The settings the app reads now: another test may have cleared get_settings' cache, and
    # the session's `settings` fixture would then be an object nobody reads any more.
    current = get_settings()
    monkeypatch.setattr(current, "outbound_allow_networks", "127.0.0.0/8")
    return current


@pytest.fixture
def drainer(db, allow_local):  # type: ignore[no-untyped-def]
    def session() -> AsyncSession:
        return AsyncSession(
            bind=db.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return Drainer(session, allow_local, pages.url_path_for)


@pytest.fixture
async def receiver():  # type: ignore[no-untyped-def]
    async with Receiver() as r:
        yield r


@pytest.fixture
async def org(db):  # type: ignore[no-untyped-def]
    units = await make_units(
        db,
        ("HQ", "本社", "company", None),
        ("RA", "関東", "region", "HQ"),
        ("S1", "新宿店", "shop", "RA"),
        ("RB", "関西", "region", "HQ"),
        ("S2", "梅田店", "shop", "RB"),
    )
    admin = await make_user(db, units["HQ"], role="admin", name="管理 太郎")
    curator = await make_user(db, units["HQ"], role="curator")
    staff = await make_user(db, units["S1"], name="伊藤 さくら")
    return units, admin, curator, staff
