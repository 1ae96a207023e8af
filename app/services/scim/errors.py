"""The errors SCIM adds to the app's domain errors: each carries its RFC 7644 `scimType`."""

from __future__ import annotations

from app.services.errors import BadRequest, DomainError


class ScimBadRequest(BadRequest):
    """400 with a scimType (invalidFilter, invalidValue, invalidPath, noTarget, ...)."""

    def __init__(self, message: str, scim_type: str) -> None:
        super().__init__(message)
        self.scim_type = scim_type


class PreconditionFailed(DomainError):
    """If-Match names a version the resource no longer has (412)."""

    status_code = 412
