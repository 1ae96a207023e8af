"""Server-side sessions, personal API tokens and login throttling counters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, created_at_field, optional_time_field


class UserSession(SQLModel, table=True):
    """A browser login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = optional_time_field()
    user_agent: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=64)
    # Set for a session on a shop's shared terminal: it ends after TERMINAL_IDLE_SECONDS
    # without input (expires_at slides forward on each request the user makes).
    device_id: int | None = Field(default=None, foreign_key="devices.id", index=True)


class TokenScope(StrEnum):
    read = "read"
    write = "write"
    # SCIM provisioning (Entra ID, Okta): /scim/v2 only, and nothing else (app/deps.py).
    scim = "scim"


# The scopes a user may choose for a personal token; a SCIM token is issued only by an admin.
PERSONAL_SCOPES = (TokenScope.read, TokenScope.write)


class ApiToken(SQLModel, table=True):
    """A personal access token (Bearer). Shown once; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    scope: str = Field(default=TokenScope.read.value, max_length=8)
    created_at: datetime = created_at_field()
    expires_at: datetime | None = optional_time_field()
    last_used_at: datetime | None = optional_time_field()
    revoked_at: datetime | None = optional_time_field()


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters, kept in the database so that every instance sees them."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = Field(default=0)
    window_started_at: datetime = created_at_field()
    blocked_until: datetime | None = optional_time_field()
