"""Errors raised by services: bad input (shaped like FastAPI's 422 `detail` list) and
conflicts with the current state (409)."""

from __future__ import annotations

from typing import Any

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


class InvalidInput(Exception):
    """Nothing was written; `errors` says which fields are wrong and why."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("msg")) for e in errors))
        self.errors = errors

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


class Conflict(Exception):
    """The request clashes with the current state; nothing was written. The API answers 409
    (errors.install); a form shows `message` at `field` ("" for the form as a whole)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InsufficientStorage(Exception):
    """The disk that files are written to is full; nothing was kept (507, errors.install)."""
