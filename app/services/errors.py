"""Every error a service raises: a DomainError names its status and message, and one handler
(app.errors.install) answers it as JSON for the API, a page for the browser, or a toast for an
HTMX request. Services never raise HTTPException (tests/test_domain_errors.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

from app.i18n import _


def generic_message(error_type: str) -> str | None:
    """Pydantic's own messages are English: say the common ones in the user's language."""
    if error_type == "missing":
        return _("This field is required.")
    if error_type.startswith(("date_", "datetime_")):
        return _("Enter a valid date (YYYY-MM-DD).")
    if error_type in ("int_parsing", "int_type", "bool_parsing", "bool_type"):
        return _("Enter a valid value.")
    if error_type in ("enum", "literal_error"):
        return _("Choose one of the options.")
    if error_type in ("string_type", "list_type", "model_type", "dict_type"):
        return _("This value has the wrong type.")
    return None


class DomainError(Exception):
    """A request the rules refuse; nothing was written. `status_code` is the HTTP status the
    handler answers with, `detail` the JSON `detail` (the message), `headers` extra headers
    (such as Retry-After)."""

    status_code: ClassVar[int] = 400

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def detail(self) -> Any:
        return self.message


class BadRequest(DomainError):
    """A request that cannot be read at all (a malformed upload): 400."""


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    """Nothing with this name or id, or nothing the caller may see: 404."""

    status_code = 404


class Conflict(DomainError):
    """The request clashes with the current state; nothing was written. The API answers 409;
    a form shows `message` at `field` ("" for the form as a whole)."""

    status_code = 409

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class TooLarge(DomainError):
    status_code = 413


class UnsupportedMedia(DomainError):
    status_code = 415


class TooManyRequests(DomainError):
    """Refused for a while: 429 with Retry-After (seconds)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class InsufficientStorage(DomainError):
    """The disk that files are written to is full; nothing was kept (507). Often raised in a
    worker thread: the message is worded when it is answered, in the request's language."""

    status_code = 507

    def __init__(self) -> None:
        super().__init__("no room left to store files")

    @property
    def detail(self) -> Any:
        return _(
            "There is no room left on the server to store files, so nothing was saved. "
            "Try again later, or tell an administrator."
        )


class InvalidInput(DomainError):
    """Nothing was written; `errors` says which fields are wrong and why (422, its JSON
    `detail` is this list, shaped like FastAPI's own)."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("msg")) for e in errors))
        self.errors = errors

    @property
    def detail(self) -> Any:
        return self.errors

    @classmethod
    def field(cls, field: str, msg: str, type_: str = "value_error", **ctx: Any) -> InvalidInput:
        error: dict[str, Any] = {"loc": ["body", field], "msg": msg, "type": type_}
        if ctx:
            error["ctx"] = ctx
        return cls([error])

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidInput:
        errors = []
        for e in exc.errors(include_url=False):
            ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, str | int)}
            msg = generic_message(e["type"]) or str(e["msg"]).removeprefix("Value error, ")
            error: dict[str, Any] = {"loc": ["body", *e["loc"]], "msg": msg, "type": e["type"]}
            if ctx:
                error["ctx"] = ctx
            errors.append(error)
        return cls(errors)

    def by_field(self) -> dict[str, str]:
        """First message per top-level field, for forms ("" for errors not on a field)."""
        out: dict[str, str] = {}
        for e in self.errors:
            loc = list(e.get("loc", []))
            if loc[:1] == ["body"]:  # the location prefix, not a field called "body"
                loc = loc[1:]
            out.setdefault(str(loc[0]) if loc else "", str(e["msg"]))
        return out
