"""Bulletins (好取組情報) over JSON: list, read, write, publish, read receipts, 横展開, stats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from app.api.docs import conflict
from app.api.posts import post_public
from app.api.schemas import Page, PersonRef, PostPublic, UnitRef
from app.deps import CuratorUser, CurrentUser, SessionDep
from app.i18n import _
from app.inputs import PathId
from app.services import bulletins as service
from app.services.bulletins import BulletinView
from app.services.inputs import BulletinCreate, BulletinUpdate

router = APIRouter(tags=["bulletins"])


class BulletinItemPublic(BaseModel):
    id: int
    position: int
    comment: str
    post: PostPublic | None  # null when the caller may not see the post (hidden, deleted)
    answer: str | None = None  # the caller's shop's 横展開 answer


class BulletinPublic(BaseModel):
    id: int
    volume: int | None
    fiscal_year: int | None
    title: str
    lead: str
    status: str
    audience: Literal["all"] | list[str]
    publish_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    confirm_by: date | None = None  # 確認期限: the day (Asia/Tokyo) by which to read it
    items: list[BulletinItemPublic]
    read: bool


class ReadState(BaseModel):
    bulletin_id: int
    read: bool
    read_at: datetime | None
    # How the receipt was recorded: "self" (opened it) or "meeting" (ticked as present at
    # the shop's morning meeting on the shop terminal).
    read_via: str | None = None


class RolloutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Literal["adopted", "trialling", "not_applicable"]


class RolloutPublic(BaseModel):
    item_id: int
    unit: UnitRef
    answer: str
    answered_by: PersonRef
    answered_at: datetime


class ReadRatePublic(BaseModel):
    unit: UnitRef
    kind: str
    depth: int
    users: int
    readers: int
    rate: float | None
    at_meeting: int = 0  # of the readers, those recorded at a shop's morning meeting


class AdoptionPublic(BaseModel):
    region: UnitRef | None
    shops: int
    answered: int
    adopted: int
    trialling: int
    not_applicable: int
    rate: float | None
    want_to_try: int  # 「やってみたい」 reactions from the region (the total: from everyone)


class ItemAdoptionPublic(BaseModel):
    item_id: int
    position: int
    post_id: int
    title: str
    regions: list[AdoptionPublic]
    total: AdoptionPublic


class BulletinStats(BaseModel):
    read: list[ReadRatePublic]
    adoption: list[ItemAdoptionPublic]


def bulletin_public(request: Request, v: BulletinView) -> BulletinPublic:
    b = v.bulletin
    assert b.id is not None
    return BulletinPublic(
        id=b.id,
        volume=b.volume,
        fiscal_year=b.fiscal_year,
        title=b.title,
        lead=b.lead,
        status=b.status,
        audience=v.audience_value,
        publish_at=b.publish_at,
        published_at=b.published_at,
        created_at=b.created_at,
        confirm_by=b.confirm_by,
        items=[
            BulletinItemPublic(
                id=i.id,
                position=i.position,
                comment=i.comment,
                post=post_public(request, i.card) if i.card is not None else None,
                answer=i.answer,
            )
            for i in v.items
        ],
        read=v.read,
    )


def _adoption(row: service.AdoptionRow) -> AdoptionPublic:
    region = (
        UnitRef(code=row.region_code, name=row.region_name or "")
        if row.region_code is not None
        else None
    )
    return AdoptionPublic(
        region=region,
        shops=row.shops,
        answered=row.answered,
        adopted=row.adopted,
        trialling=row.trialling,
        not_applicable=row.not_applicable,
        rate=row.rate,
        want_to_try=row.want_to_try,
    )


async def _one(
    request: Request, db: SessionDep, user: CurrentUser, bulletin_id: int
) -> BulletinPublic:
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    return bulletin_public(request, await service.view(db, user, bulletin))


def _changes(body: BaseModel) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if data.get("audience", "") is None:
        raise HTTPException(
            422,
            [{"loc": ["body", "audience"], "msg": _("This field is required."), "type": "missing"}],
        )
    return data


@router.get("/bulletins", name="api_list_bulletins")
async def list_bulletins(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[BulletinPublic]:
    found, next_cursor = await service.list_bulletins(db, user, cursor=cursor, limit=limit)
    shown = await service.views(db, user, found)
    return Page(items=[bulletin_public(request, v) for v in shown], next_cursor=next_cursor)


@router.post(
    "/bulletins",
    name="api_create_bulletin",
    status_code=201,
    responses=conflict("A post is in the bulletin twice."),
)
async def create_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, body: BulletinCreate
) -> BulletinPublic:
    data = _changes(body)
    data.setdefault("audience", "all")
    if data.get("items") is None:
        data.pop("items", None)
    if data.get("publish_at") is None:
        data.pop("publish_at", None)
    bulletin = await service.create_bulletin(db, user, data)
    assert bulletin.id is not None
    return await _one(request, db, user, bulletin.id)


@router.get("/bulletins/{bulletin_id}", name="api_get_bulletin")
async def get_bulletin(
    request: Request, db: SessionDep, user: CurrentUser, bulletin_id: PathId
) -> BulletinPublic:
    return await _one(request, db, user, bulletin_id)


@router.patch(
    "/bulletins/{bulletin_id}",
    name="api_update_bulletin",
    responses=conflict("Already published, changed meanwhile, or a post twice in it."),
)
async def update_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId, body: BulletinUpdate
) -> BulletinPublic:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    data = _changes(body)
    for name in ("title", "lead", "items"):
        if name in data and data[name] is None:
            raise HTTPException(
                422,
                [{"loc": ["body", name], "msg": _("This field is required."), "type": "missing"}],
            )
    await service.update_bulletin(db, user, bulletin, data)
    return await _one(request, db, user, bulletin_id)


@router.post(
    "/bulletins/{bulletin_id}/publish",
    name="api_publish_bulletin",
    responses=conflict("Already published, or changed meanwhile."),
)
async def publish_bulletin(
    request: Request, db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> BulletinPublic:
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    await service.publish_now(db, user, bulletin)
    return await _one(request, db, user, bulletin_id)


@router.post(
    "/bulletins/{bulletin_id}/read", name="api_read_bulletin", responses=conflict("Not published.")
)
async def read_bulletin(db: SessionDep, user: CurrentUser, bulletin_id: PathId) -> ReadState:
    """Record that the caller opened the bulletin (the first time counts; idempotent)."""
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    if bulletin.status != service.PUBLISHED:
        raise HTTPException(409, _("Only a published bulletin has read receipts."))
    await service.mark_read(db, user, bulletin)
    state = await service.view(db, user, bulletin)
    return ReadState(
        bulletin_id=bulletin_id, read=state.read, read_at=state.read_at, read_via=state.read_via
    )


@router.put(
    "/bulletins/{bulletin_id}/items/{item_id}/rollout",
    name="api_answer_rollout",
    responses=conflict("Not published."),
)
async def answer_rollout(
    db: SessionDep, user: CurrentUser, bulletin_id: PathId, item_id: PathId, body: RolloutIn
) -> RolloutPublic:
    bulletin = await service.get_bulletin_for_view(db, user, bulletin_id)
    saved = await service.answer_rollout(db, user, bulletin, item_id, body.answer)
    return RolloutPublic(
        item_id=saved.item_id,
        unit=UnitRef(code=saved.unit_code, name=saved.unit_name),
        answer=saved.answer,
        answered_by=PersonRef(code=saved.answered_by_code, name=saved.answered_by_name),
        answered_at=saved.answered_at,
    )


@router.get("/bulletins/{bulletin_id}/stats", name="api_bulletin_stats")
async def bulletin_stats(db: SessionDep, user: CuratorUser, bulletin_id: PathId) -> BulletinStats:
    bulletin = await service.get_bulletin_for_stats(db, user, bulletin_id)
    reads = await service.read_rates(db, bulletin, user)
    adoption = await service.adoption_by_region(db, bulletin, user)
    return BulletinStats(
        read=[
            ReadRatePublic(
                unit=UnitRef(code=r.code, name=r.name),
                kind=r.kind,
                depth=r.depth,
                users=r.users,
                readers=r.readers,
                rate=r.rate,
                at_meeting=r.at_meeting,
            )
            for r in reads
        ],
        adoption=[
            ItemAdoptionPublic(
                item_id=a.item_id,
                position=a.position,
                post_id=a.post_id,
                title=a.title,
                regions=[_adoption(r) for r in a.regions],
                total=_adoption(a.total),
            )
            for a in adoption
        ],
    )


# Read follow-up (curators) ---------------------------------------------------------------------


class UnreadPersonPublic(BaseModel):
    code: str
    name: str
    unit: UnitRef
    region: UnitRef | None


class ShopFollowUpPublic(BaseModel):
    unit: UnitRef
    region: UnitRef | None
    users: int
    readers: int
    not_read: int
    items: int  # items the shop can answer (their post is still published)
    answered: int
    unanswered: list[str]  # titles of the items it has not answered


class FollowUpPublic(BaseModel):
    confirm_by: date | None
    reminded_on: date | None  # the Tokyo day of the last reminder
    unread: list[UnreadPersonPublic]
    shops_not_read: list[ShopFollowUpPublic]
    shops_not_answered: list[ShopFollowUpPublic]


class Reminded(BaseModel):
    bulletin_id: int
    reminded: int  # how many people were notified


def _ref(code: str | None, name: str | None) -> UnitRef | None:
    return UnitRef(code=code, name=name or "") if code is not None else None


def _shop(s: service.ShopFollowUp) -> ShopFollowUpPublic:
    return ShopFollowUpPublic(
        unit=UnitRef(code=s.code, name=s.name),
        region=_ref(s.region_code, s.region_name),
        users=s.users,
        readers=s.readers,
        not_read=s.not_read,
        items=s.items,
        answered=s.answered,
        unanswered=s.unanswered,
    )


@router.get("/bulletins/{bulletin_id}/followup", name="api_bulletin_followup")
async def bulletin_followup(
    db: SessionDep, user: CuratorUser, bulletin_id: PathId
) -> FollowUpPublic:
    """Who in the audience has not opened it, and the shops behind on reading or 横展開."""
    bulletin = await service.get_bulletin_for_stats(db, user, bulletin_id)
    follow = await service.follow_up(db, bulletin, user)
    return FollowUpPublic(
        confirm_by=bulletin.confirm_by,
        reminded_on=bulletin.reminded_on,
        unread=[
            UnreadPersonPublic(
                code=p.code,
                name=p.name,
                unit=UnitRef(code=p.unit_code, name=p.unit_name),
                region=_ref(p.region_code, p.region_name),
            )
            for p in follow.people
        ],
        shops_not_read=[_shop(s) for s in follow.shops_not_read],
        shops_not_answered=[_shop(s) for s in follow.shops_not_answered],
    )


@router.post(
    "/bulletins/{bulletin_id}/remind",
    name="api_remind_bulletin",
    responses=conflict("Not published, already reminded today, or everyone has opened it."),
)
async def remind_bulletin(db: SessionDep, user: CuratorUser, bulletin_id: PathId) -> Reminded:
    """Notify the people who have not opened it (at most once a day per bulletin)."""
    bulletin = await service.get_bulletin_for_edit(db, user, bulletin_id)
    reminded = await service.remind(db, user, bulletin)
    return Reminded(bulletin_id=bulletin_id, reminded=len(reminded))
