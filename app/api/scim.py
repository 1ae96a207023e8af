"""SCIM 2.0 (RFC 7644) under /scim/v2: Users, and the discovery endpoints Entra ID and Okta
read. Thin: parse with scim2-models, call services/scim, answer application/scim+json.
Errors are answered in SCIM's shape by app/errors.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import ValidationError
from scim2_models import (
    Context,
    ListResponse,
    ResourceType,
    ResponseParameters,
    Schema,
    SearchRequest,
)

from app.deps import ScimActor, SessionDep
from app.i18n import _
from app.routing import SCIM_PREFIX
from app.services.errors import NotFound
from app.services.scim import resources
from app.services.scim import users as scim_users
from app.services.scim.errors import ScimBadRequest
from app.services.scim.resources import ScimUser

MEDIA_TYPE = "application/scim+json"

# Outside /api/: included by app.main before the pages (whose router would try it first).
router = APIRouter(prefix=SCIM_PREFIX, tags=["SCIM"], include_in_schema=False)

JsonBody = Annotated[dict[str, Any], Body()]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def scim_json(
    payload: Any,
    status_code: int = 200,
    ctx: Context = Context.RESOURCE_QUERY_RESPONSE,
    shown: ResponseParameters[Any] | None = None,
) -> Response:
    body = payload.model_dump_json(scim_ctx=ctx, response_parameters=shown)
    headers = {}
    meta = getattr(payload, "meta", None)
    if meta is not None and meta.version:
        headers["ETag"] = meta.version
        if status_code == 201 and meta.location:
            headers["Location"] = str(meta.location)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPE, headers=headers)


def _locate(request: Request) -> scim_users.Locate:
    base = str(request.base_url).rstrip("/") + SCIM_PREFIX + "/Users/"
    return lambda user_id: f"{base}{user_id}"


def _read_user(body: dict[str, Any], ctx: Context) -> ScimUser:
    try:
        return ScimUser.model_validate(body, scim_ctx=ctx)
    except ValidationError as exc:
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ScimBadRequest(message, "invalidValue") from exc


def _list(
    model: Any,
    items: list[Any],
    start: int = 1,
    total: int | None = None,
    shown: ResponseParameters[Any] | None = None,
) -> Response:
    page = ListResponse[model](
        total_results=len(items) if total is None else total,
        start_index=start,
        items_per_page=len(items),
        resources=items,
    )
    return scim_json(page, ctx=Context.SEARCH_RESPONSE, shown=shown)


def _shown(attributes: str | None, excluded: str | None) -> ResponseParameters[Any] | None:
    """The `attributes` / `excludedAttributes` a client asked for (RFC 7644 §3.9)."""
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters[ScimUser].model_validate(
            {"attributes": attributes or None, "excludedAttributes": excluded or None}
        )
    except ValidationError as exc:
        raise ScimBadRequest(str(exc.errors(include_url=False)[0]["msg"]), "invalidValue") from exc


Attributes = Annotated[str | None, Query(max_length=2000)]
Excluded = Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)]


@router.get("/ServiceProviderConfig", name="scim_service_provider_config")
async def service_provider_config(_actor: ScimActor) -> Response:
    return scim_json(resources.service_provider_config())


@router.get("/Schemas", name="scim_list_schemas")
async def list_schemas(_actor: ScimActor) -> Response:
    return _list(Schema, list(resources.schemas()))


def _by_id(items: Iterable[Any], wanted: str, missing: str) -> Response:
    """The one of `items` (schemas, resource types) whose `id` is `wanted`, else 404."""
    for item in items:
        if item.id == wanted:
            return scim_json(item)
    raise NotFound(missing)


@router.get("/Schemas/{schema_id}", name="scim_get_schema")
async def get_schema(_actor: ScimActor, schema_id: str) -> Response:
    return _by_id(resources.schemas(), schema_id, _("There is no such schema."))


@router.get("/ResourceTypes", name="scim_list_resource_types")
async def list_resource_types(_actor: ScimActor) -> Response:
    return _list(ResourceType, list(resources.resource_types()))


@router.get("/ResourceTypes/{type_id}", name="scim_get_resource_type")
async def get_resource_type(_actor: ScimActor, type_id: str) -> Response:
    return _by_id(resources.resource_types(), type_id, _("There is no such resource type."))


@router.get("/Users", name="scim_list_users")
async def list_users(
    request: Request,
    db: SessionDep,
    _actor: ScimActor,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
    start_index: Annotated[int, Query(alias="startIndex")] = 1,
    count: Annotated[int | None, Query()] = None,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    shown = _shown(attributes, excluded)
    page = await scim_users.list_users(
        db, _locate(request), filter_text=filter, start_index=start_index, count=count
    )
    return _list(ScimUser, list(page.resources), page.start_index, page.total, shown)


@router.post("/.search", name="scim_search")
@router.post("/Users/.search", name="scim_search_users")
async def search_users(
    request: Request, db: SessionDep, _actor: ScimActor, body: JsonBody
) -> Response:
    """The same query as GET /Users, sent as a SearchRequest body (RFC 7644 §3.4.3)."""
    try:
        search = SearchRequest[ScimUser].model_validate(body)
    except ValidationError as exc:
        raise ScimBadRequest(str(exc.errors(include_url=False)[0]["msg"]), "invalidValue") from exc
    page = await scim_users.list_users(
        db,
        _locate(request),
        filter_text=str(search.filter) if search.filter else None,
        start_index=search.start_index or 1,
        count=search.count,
    )
    return _list(ScimUser, list(page.resources), page.start_index, page.total, search)


@router.post("/Users", name="scim_create_user")
async def create_user(
    request: Request, db: SessionDep, actor: ScimActor, body: JsonBody
) -> Response:
    res = _read_user(body, Context.RESOURCE_CREATION_REQUEST)
    created = await scim_users.create_user(db, actor, _locate(request), res)
    return scim_json(created, 201)


@router.get("/Users/{user_id}", name="scim_get_user")
async def get_user(
    request: Request,
    db: SessionDep,
    _actor: ScimActor,
    user_id: str,
    attributes: Attributes = None,
    excluded: Excluded = None,
) -> Response:
    shown = _shown(attributes, excluded)
    return scim_json(await scim_users.get_user(db, _locate(request), user_id), shown=shown)


@router.put("/Users/{user_id}", name="scim_replace_user")
async def replace_user(
    request: Request,
    db: SessionDep,
    actor: ScimActor,
    user_id: str,
    body: JsonBody,
    if_match: IfMatch = None,
) -> Response:
    res = _read_user(body, Context.RESOURCE_REPLACEMENT_REQUEST)
    replaced = await scim_users.replace_user(db, actor, _locate(request), user_id, res, if_match)
    return scim_json(replaced)


@router.patch("/Users/{user_id}", name="scim_patch_user")
async def patch_user(
    request: Request,
    db: SessionDep,
    actor: ScimActor,
    user_id: str,
    body: JsonBody,
    if_match: IfMatch = None,
) -> Response:
    patched = await scim_users.patch_user(db, actor, _locate(request), user_id, body, if_match)
    return scim_json(patched)


@router.delete("/Users/{user_id}", name="scim_delete_user", status_code=204)
async def delete_user(
    request: Request, db: SessionDep, actor: ScimActor, user_id: str, if_match: IfMatch = None
) -> Response:
    await scim_users.deactivate_user(db, actor, _locate(request), user_id, if_match)
    return Response(status_code=204)
