"""Routers that skip their routes for paths they can never answer.

FastAPI (0.165) matches a request by trying every route of every included router in turn,
twice (once to choose the router, once inside it). An API request therefore first tried each
of the ~200 page routes' patterns: about 0.5 ms of every API call. Pages never live under
/api/ and the API lives nowhere else, so each top-level router answers "no match" at once
for the other's paths.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

API_PREFIX = "/api/"
SCIM_PREFIX = "/scim/v2"  # SCIM 2.0 (app/api/scim.py): bearer SCIM tokens only, SCIM errors


def is_scim_path(path: str) -> bool:
    return path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/")


class _PrefixGatedRouter(APIRouter):
    inside_api: bool

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if get_route_path(scope).startswith(API_PREFIX) != self.inside_api:
            return Match.NONE, {}
        return super().matches(scope)


class PagesRouter(_PrefixGatedRouter):
    """The server-rendered pages: every path outside /api/."""

    inside_api = False


class ApiRouter(_PrefixGatedRouter):
    """The JSON API and its docs: paths under /api/."""

    inside_api = True
