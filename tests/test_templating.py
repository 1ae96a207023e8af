"""Templates build URLs from route names; the cached formats agree with Starlette's."""

from __future__ import annotations

import jinja2
import pytest

from app.main import create_app
from app.templating import _formats, _route_formats, path_for

pytestmark = pytest.mark.nodb  # touches no database: the SQLite pass alone runs it


class _Req:
    def __init__(self, app):
        self.app = app


def test_cached_route_formats_match_url_path_for():
    app = create_app()
    _route_formats(app)
    assert {"feed", "show_post", "attachment_file", "api_get_post", "static"} <= set(_formats)
    ctx = jinja2.Environment().from_string("").new_context({"request": _Req(app)})
    for name, (_fmt, params) in _formats.items():
        values = {p: ("css/app.css" if p == "path" else "7") for p in params}
        assert path_for(ctx, name, **values) == str(app.url_path_for(name, **values)), name
