"""Services raise domain errors only (app/services/errors.py), never FastAPI's HTTPException;
one handler answers them as JSON for the API, a page for the browser, or a toast for an HTMX
request (issue 13)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

import app.services
from app.services import bulletins as bulletin_service
from app.services.errors import DomainError, InvalidInput, TooManyRequests
from tests.factories import login, make_user
from tests.test_response_hardening import HX, _toast

SERVICES = Path(app.services.__file__).parent


def http_exception_lines(source: str, filename: str = "<source>") -> list[int]:
    """Lines of `source` that import, name or raise HTTPException (from any module)."""
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom | ast.Import):
            if any(alias.name.rpartition(".")[2] == "HTTPException" for alias in node.names):
                lines.append(node.lineno)
        elif (isinstance(node, ast.Name) and node.id == "HTTPException") or (
            isinstance(node, ast.Attribute) and node.attr == "HTTPException"
        ):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_every_way_of_writing_it():
    assert http_exception_lines("from fastapi import HTTPException") == [1]
    assert http_exception_lines("from starlette.exceptions import HTTPException as E") == [1]
    assert http_exception_lines("import fastapi\nraise fastapi.HTTPException(404)") == [2]
    assert http_exception_lines("from app.services.errors import NotFound") == []


def test_no_service_imports_or_raises_http_exception():
    found = {
        str(path.relative_to(SERVICES)): lines
        for path in sorted(SERVICES.rglob("*.py"))
        if (lines := http_exception_lines(path.read_text(encoding="utf-8"), str(path)))
    }
    assert found == {}, "services raise app.services.errors.DomainError, not HTTPException"


# Raised and caught inside a service, or worded by the route that catches them: never answered.
INTERNAL = {
    "app.services.images.Refused",
    "app.services.integrations.guard.Refused",  # caught where an address is checked
    "app.services.images.TooManyPixels",
    "app.services.people.sso.SsoFailed",
    "app.services.ocr.reader.Unavailable",  # the drainer holds the image for a curator
}


def test_every_error_a_service_defines_is_a_domain_error():
    strays = []
    for info in pkgutil.walk_packages(app.services.__path__, "app.services."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            qualified = f"{info.name}.{name}"
            if cls.__module__ != info.name or not issubclass(cls, BaseException):
                continue
            if not issubclass(cls, DomainError) and qualified not in INTERNAL:
                strays.append(qualified)
    assert strays == []


# One handler: the same error as JSON, as a page, and as a toast ---------------------------------


async def _answers(client: httpx.AsyncClient, bulletin_id: int) -> tuple[httpx.Response, ...]:
    api = await client.get(f"/api/v1/bulletins/{bulletin_id}")
    page = await client.get(f"/bulletins/{bulletin_id}")
    toast = await client.get(f"/bulletins/{bulletin_id}", headers=HX)
    return api, page, toast


def _page_text(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("text/html") and "HX-Retarget" not in r.headers
    page = BeautifulSoup(r.text, "html.parser")
    assert len(page.select("header.site-header")) == 1
    return page.select_one("main").get_text()


async def test_a_not_found_from_a_service_is_json_a_page_or_a_toast(client, db):
    await login(client, await make_user(db))
    api, page, toast = await _answers(client, 999_999)
    assert api.status_code == page.status_code == toast.status_code == 404
    message = api.json()["detail"]
    assert message == "この好取組情報は存在しないか、表示する権限がありません。"
    assert message in _page_text(page)
    assert _toast(toast) == message


@pytest.fixture
def refusing(monkeypatch):  # type: ignore[no-untyped-def]
    """The service behind GET /bulletins/{id} (page and API) raises the error it is given."""

    def install(error: DomainError) -> None:
        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(bulletin_service, "get_bulletin_for_view", refuse)

    return install


async def test_a_domain_error_keeps_its_status_message_and_headers(client, db, refusing):
    await login(client, await make_user(db))
    refusing(TooManyRequests("Slow down.", 7))
    api, page, toast = await _answers(client, 1)
    for r in (api, page, toast):
        assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert api.json() == {"detail": "Slow down."}
    assert "Slow down." in _page_text(page)
    assert _toast(toast) == "Slow down."


async def test_invalid_input_keeps_its_list_for_json_and_is_a_page_or_toast_otherwise(
    client, db, refusing
):
    await login(client, await make_user(db))
    refusing(InvalidInput.field("title", "Enter a title."))
    api, page, toast = await _answers(client, 1)
    assert api.status_code == page.status_code == toast.status_code == 422
    assert api.json() == {
        "detail": [{"loc": ["body", "title"], "msg": "Enter a title.", "type": "value_error"}]
    }
    _page_text(page)
    assert _toast(toast)
