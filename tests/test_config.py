"""Settings refuse unsafe values outside dev mode and pick the database driver."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import DEV_SECRET, Settings, driver_url

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it


def test_default_secret_is_refused_outside_dev():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(ARIGATO_ENV="production", secret_key=DEV_SECRET)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(ARIGATO_ENV="production", secret_key="short")
    assert Settings(ARIGATO_ENV="dev", secret_key=DEV_SECRET).secret_key == DEV_SECRET
    assert Settings(ARIGATO_ENV="production", secret_key="k" * 40).env == "production"


@pytest.mark.parametrize(
    ("url", "asynchronous", "expected"),
    [
        ("sqlite:///./a.db", True, "sqlite+aiosqlite:///./a.db"),
        ("sqlite:///./a.db", False, "sqlite:///./a.db"),
        ("postgresql://u@h/db", True, "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", False, "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", True, "postgresql+asyncpg://u@h/db"),
    ],
)
def test_driver_is_picked_from_the_url(url, asynchronous, expected):
    assert driver_url(url, asynchronous=asynchronous) == expected


def test_unknown_database_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        driver_url("mysql://x/y", asynchronous=True)
