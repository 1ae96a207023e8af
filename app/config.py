"""Settings from the environment (and `.env`), refusing unsafe values outside dev mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # `dev` relaxes the SECRET_KEY rule and the Secure cookie flag; never use it in production.
    env: Literal["dev", "test", "production"] = Field(default="production", alias="ARIGATO_ENV")
    database_url: str = "sqlite:///./arigato.db"
    secret_key: str = DEV_SECRET
    upload_dir: Path = Path("./uploads")
    fiscal_year_start: int = Field(default=4, ge=1, le=12)
    timezone: str = "Asia/Tokyo"
    base_url: str = "http://127.0.0.1:8000"
    default_locale: Literal["ja", "en"] = "ja"

    # Login throttling: consecutive failures per account, failures per address in the window.
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30
    login_lockout_seconds: int = 300

    session_days: int = 14
    # A session on a shop's shared terminal ends after this many seconds without input.
    terminal_idle_seconds: int = Field(default=120, ge=1, le=86400)
    log_level: str = "INFO"

    # Single sign-on (OpenID Connect, authorization code + PKCE); on when issuer and client
    # id are set. Password login can be switched off once SSO is on.
    password_login: bool = True
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None  # unset: a public client (PKCE only)
    oidc_code_claim: str = Field(default="employee_code", min_length=1)
    oidc_scopes: str = "openid profile"
    oidc_create_users: bool = False
    oidc_default_unit: str | None = None  # unit code for users created on first SSO login

    # Outgoing mail for the e-mail digest (`arigato digest send`); no SMTP_HOST, no mail.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "arigato-board@localhost"
    smtp_starttls: bool = False

    # Web Push (VAPID, RFC 8292): on when both are set. `arigato push keys` prints a new key
    # pair; the private key is the base64url of the raw 32-byte P-256 key (as web-push tools
    # print it) or of its DER form. The subject is how push services reach the operator.
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    # How often each instance looks for pushes that came due (held over quiet hours, or
    # waiting to be retried); new ones are sent at once, woken by the live events.
    push_poll_seconds: float = Field(default=15.0, gt=0, le=3600)

    # Outgoing integrations (docs/integrations.md). Private networks a webhook may reach
    # (CIDRs, comma-separated: an on-premises receiver); loopback, link-local and private
    # addresses are refused otherwise, cloud metadata addresses always.
    outbound_allow_networks: str = ""
    integrations_poll_seconds: float = Field(default=10.0, gt=0, le=3600)
    integrations_drainer: bool = True  # off: this instance sends nothing (others do)
    slack_api_url: str = "https://slack.com/api/"
    lineworks_api_url: str = "https://www.worksapis.com/v1.0"
    lineworks_auth_url: str = "https://auth.worksmobile.com/oauth2/v2.0/token"

    # The personal-data check of photos (OCR, docs/compliance.md): the Tesseract command
    # (a name on PATH or a path), how often each instance looks for checks to retry, and
    # whether this instance runs checks at all (the others do).
    tesseract_cmd: str = Field(default="tesseract", min_length=1)
    ocr_poll_seconds: float = Field(default=10.0, gt=0, le=3600)
    ocr_drainer: bool = True

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.env != "dev" and (not self.secret_key or self.secret_key == DEV_SECRET):
            raise ValueError(
                "SECRET_KEY must be set to a long random value (or ARIGATO_ENV=dev for development)"
            )
        if self.env != "dev" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")
        self._check_sso()
        self._check_push()
        return self

    def _check_push(self) -> None:
        if bool(self.vapid_private_key) != bool(self.vapid_subject):
            raise ValueError("VAPID_PRIVATE_KEY and VAPID_SUBJECT must be set together (Web Push)")
        if not self.vapid_private_key:
            return
        if not (self.vapid_subject or "").startswith(("mailto:", "https://")):
            raise ValueError("VAPID_SUBJECT must be a mailto: or https:// address")
        from app.services.push.keys import public_key  # late: it imports the crypto library

        try:
            public_key(self.vapid_private_key)
        except ValueError as exc:
            raise ValueError(f"VAPID_PRIVATE_KEY is not a P-256 private key: {exc}") from None

    def _check_sso(self) -> None:
        """Refuse a single sign-on set-up that would lock everyone out or half work."""
        if bool(self.oidc_issuer) != bool(self.oidc_client_id):
            raise ValueError("OIDC_ISSUER and OIDC_CLIENT_ID must be set together (single sign-on)")
        if not self.password_login and not self.sso_enabled:
            raise ValueError(
                "PASSWORD_LOGIN=false needs single sign-on (OIDC_ISSUER and OIDC_CLIENT_ID): "
                "otherwise nobody could log in"
            )
        if not self.sso_enabled:
            return
        issuer = self.oidc_issuer or ""
        if not issuer.startswith(("https://", "http://")):
            raise ValueError("OIDC_ISSUER must be an https:// URL")
        if issuer.startswith("http://") and self.env == "production":
            raise ValueError("OIDC_ISSUER must use https:// outside dev and test")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("OIDC_SCOPES must include openid")
        if self.oidc_create_users and not self.oidc_default_unit:
            raise ValueError(
                "OIDC_CREATE_USERS=true needs OIDC_DEFAULT_UNIT (the unit code of new users)"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def async_database_url(self) -> str:
        return driver_url(self.database_url, asynchronous=True)

    @property
    def sync_database_url(self) -> str:
        return driver_url(self.database_url, asynchronous=False)

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def push_enabled(self) -> bool:
        return bool(self.vapid_private_key and self.vapid_subject)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def driver_url(url: str, *, asynchronous: bool) -> str:
    """Pick the driver for a plain `sqlite:///` or `postgresql://` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL is not a URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base in ("postgres", "postgresql"):
        return f"postgresql+{'asyncpg' if asynchronous else 'psycopg'}://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}" if asynchronous else f"sqlite://{rest}"
    raise ValueError(f"unsupported database: {scheme}")


@lru_cache
def get_settings() -> Settings:
    return Settings()
