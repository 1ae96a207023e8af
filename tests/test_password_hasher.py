"""The production password profile (RFC 9106 argon2id); the suite itself runs with a cheap one."""

from __future__ import annotations

import pytest
from argon2 import Parameters, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from app import security
from app.config import get_settings

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it


def test_production_hasher_uses_rfc_9106_argon2id():
    hasher = security.PRODUCTION_HASHER
    for name in ("time_cost", "memory_cost", "parallelism", "hash_len", "salt_len"):
        assert getattr(hasher, name) == getattr(RFC_9106_LOW_MEMORY, name)
    digest = hasher.hash("correct-horse-battery")
    params: Parameters = extract_parameters(digest)
    assert digest.startswith("$argon2id$")
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert hasher.verify(digest, "correct-horse-battery")


def test_production_hashes_verify_under_the_test_profile():
    """A user whose hash was made in production logs in whatever profile hashes new ones."""
    digest = security.PRODUCTION_HASHER.hash("correct-horse-battery")
    assert security.verify_password(digest, "correct-horse-battery")
    assert not security.verify_password(digest, "wrong-horse-battery")


def test_production_env_hashes_with_the_production_profile(monkeypatch):
    assert get_settings().env == "test"
    assert extract_parameters(security.hash_password("x" * 12)).memory_cost < 65536
    monkeypatch.setattr(
        security, "get_settings", lambda: get_settings().model_copy(update={"env": "production"})
    )
    digest = security.hash_password("correct-horse-battery")
    assert extract_parameters(digest).memory_cost == 65536
    assert security.verify_password(digest, "correct-horse-battery")
