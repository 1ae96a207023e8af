"""The OpenAPI document (/api/openapi.json) and its browser at /api/docs, served from vendored
Swagger UI (no CDN, no inline script)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import (
    validation_error_definition,
    validation_error_response_definition,
)
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app.middleware import CSP
from app.web import SESSION_COOKIE

router = APIRouter(include_in_schema=False)

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Arigato Board API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><main id="swagger-ui" data-openapi-url="/api/openapi.json"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script></body></html>"""


@router.get("/api/docs", name="api_docs")
async def api_docs() -> HTMLResponse:
    # Swagger UI sets style attributes from its scripts: allow inline styles on this page only.
    csp = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return HTMLResponse(DOCS_HTML, headers={"Content-Security-Policy": csp})


class Error(BaseModel):
    """Every error answer but 422: one message in the caller's language."""

    detail: str


SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`arigato_…`, made under Settings). A `read` "
        "token may only GET.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser session; unsafe methods also need the `X-CSRF-Token` header.",
    },
}
# Either one: the operations that need the browser session say so (and answer 403 to a token).
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}

# What any operation of the API may answer, and why; the conditions are in _may_answer.
ERRORS = {
    "400": "The multipart upload is malformed.",
    "401": "Not logged in, or the token is invalid, expired or revoked "
    "(`WWW-Authenticate: Bearer`).",
    "403": "Not allowed: the role is too low, the token is read-only, the CSRF token is "
    "missing, or a one-time password must be changed first.",
    "404": "Not found, or hidden from you.",
    "413": "The request body is too large.",
    "415": "The body is not of a type this operation takes.",
    "422": "Invalid: FastAPI's `detail` list (an unreadable body too).",
}


def _may_answer(operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer whatever it does: every one checks the
    caller (401, 403), one that names a resource in its path can miss it (404), one with a
    body refuses one too large or unreadable (413, 422), a file upload one of another type
    (415) or a broken multipart form (400)."""
    codes = ["401", "403"]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.append("404")
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        codes += ["413", "422"]
    if "multipart/form-data" in body:
        codes += ["400", "415"]
    if operation.get("parameters"):
        codes.append("422")
    return codes


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add what FastAPI leaves out of the document: how callers sign in, and the error
    answers (with their JSON shape) of every operation, declared or by _may_answer."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {})["Error"] = Error.model_json_schema()
    schema["security"] = SECURITY
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            for code in _may_answer(operation):
                responses.setdefault(code, {"description": ERRORS[code]})
            for code, response in responses.items():
                # Routes may declare an error with its description only: give it its shape.
                if code.startswith("4") and "content" not in response:
                    ref = VALIDATION_REF if code == "422" else ERROR_REF
                    response["content"] = {"application/json": {"schema": ref}}
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI defines these only when some operation validates parameters: a file body's
    # 422 points at them too.
    components["schemas"].setdefault("ValidationError", validation_error_definition)
    components["schemas"].setdefault("HTTPValidationError", validation_error_response_definition)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at the app's openapi_url (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


Responses = dict[int | str, dict[str, Any]]


def conflict(description: str) -> Responses:
    """`responses=` of an operation that can clash with the current state: 409, and why."""
    return {409: {"description": description}}


def not_found(description: str) -> Responses:
    """`responses=` of an operation that can miss what its query or body names: 404."""
    return {404: {"description": description}}
