"""Password hashing (argon2id), random tokens stored as hashes, and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import get_settings

# argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile.
PRODUCTION_HASHER = PasswordHasher()
# The test suite's profile (ARIGATO_ENV=test): still argon2id, but ~1000x cheaper, so that
# logging in is not most of a test's time. Never used outside the tests.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def _hasher() -> PasswordHasher:
    return TEST_HASHER if get_settings().env == "test" else PRODUCTION_HASHER


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the account does not exist, so that timing does not
    tell; made on first use, not at import (an argon2 hash is a fifth of a worker's start)."""
    return hasher.hash("arigato-dummy-password")


MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    try:
        return (
            hasher.verify(password_hash or _dummy_hash(hasher), password)
            and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret_key: str, seed: str) -> str:
    """The CSRF token is an HMAC of the session (or pre-session) cookie: nothing to store."""
    return hmac.new(secret_key.encode(), b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, seed: str, given: str | None) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII text (a TypeError would be a 500).
    expected = csrf_token_for(secret_key, seed).encode()
    return bool(given) and hmac.compare_digest(expected, (given or "").encode())
