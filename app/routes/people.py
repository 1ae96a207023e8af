"""User and unit pages, the directory type-ahead, and the author's own drafts."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import select

from app import i18n
from app.deps import CurrentUser, SessionDep
from app.fiscal import fiscal_year_bounds, fiscal_year_months, fiscal_year_of, month_key
from app.i18n import _
from app.models import OrgUnit, PostStatus
from app.models.tables import posts, units
from app.permissions import is_curator
from app.services import feed, org, scope
from app.services.feed import FeedFilters
from app.services.people import directory
from app.services.people import users as user_service
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/users/suggest", name="suggest_users")
async def suggest_users(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=64)] = "",
    praised_q: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Type-ahead options (HTMX fills a listbox; app.js turns a pick into a chip)."""
    term = (q or praised_q).lstrip("@＠").strip()
    rows = await directory.directory(db, term, limit=8, excluding=user.id) if term else []
    return render(request, "users/_suggestions.html", {"rows": rows, "term": term})


@router.get("/units/suggest", name="suggest_units")
async def suggest_units(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=140)] = "",
    unit: Annotated[str, Query(max_length=140)] = "",
) -> Response:
    """The unit picker's options, "name (code)" (HTMX fills a <datalist> as the person types
    into a field named `unit`)."""
    units = await directory.unit_choices(db, q or unit)
    return render(
        request, "units/_options.html", {"labels": [directory.unit_label(u) for u in units]}
    )


@router.get("/users/{code}", name="show_user")
async def show_user(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    code: str,
    tab: Annotated[str, Query(max_length=16)] = "posts",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    person = await user_service.get_by_code(db, code)
    if person is None:
        raise HTTPException(404, _("No such user."))
    unit = await db.get(OrgUnit, person.unit_id)
    own = person.id == user.id
    statuses: tuple[str, ...] = (PostStatus.published,)
    if own:
        statuses = (PostStatus.published, PostStatus.hidden, PostStatus.draft)
    elif is_curator(user) and not scope.is_scoped(user):
        # A curator with a scope finds the hidden posts of their units on /moderation.
        statuses = (PostStatus.published, PostStatus.hidden)
    if tab == "praised":
        cards, next_cursor = await feed.list_posts(
            db, user, FeedFilters(kind="praise"), cursor=cursor, praised_user_id=person.id
        )
    else:
        tab = "posts"
        cards, next_cursor = await feed.list_posts(
            db, user, FeedFilters(), cursor=cursor, statuses=statuses, only_author_id=person.id
        )
    praised_count = (
        await db.execute(
            sa.text(
                "SELECT count(*) FROM post_praised pp JOIN posts p ON p.id = pp.post_id "
                "WHERE pp.user_id = :u AND p.status = 'published'"
            ),
            {"u": person.id},
        )
    ).scalar_one()
    base = request.app.url_path_for("show_user", code=code)
    next_url = f"{base}?tab={tab}&cursor={next_cursor}" if next_cursor else None
    return render(
        request,
        "users/detail.html",
        {
            "person": person,
            "unit": unit,
            "cards": cards,
            "tab": tab,
            "own": own,
            "praised_count": praised_count,
            "next_url": next_url,
            "more_url": None,
        },
    )


@router.get("/units/{code}", name="show_unit")
async def show_unit(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    code: str,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    unit = (await db.exec(select(OrgUnit).where(OrgUnit.code == code))).first()
    if unit is None:
        raise HTTPException(404, _("No such unit."))
    parent = await db.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    children = (
        await db.exec(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code))
    ).all()
    cards, next_cursor = await feed.list_posts(db, user, FeedFilters(unit=code), cursor=cursor)
    fy = fiscal_year_of(i18n.today())
    counts = await monthly_praise_counts(db, code, fy)
    base = request.app.url_path_for("show_unit", code=code)
    return render(
        request,
        "units/detail.html",
        {
            "unit": unit,
            "parent": parent,
            "children": children,
            "cards": cards,
            "next_url": f"{base}?cursor={next_cursor}" if next_cursor else None,
            "more_url": None,
            "fiscal_year": fy,
            "counts": counts,
            "total": sum(counts.values()),
        },
    )


async def monthly_praise_counts(db: SessionDep, unit_code: str, fy: int) -> dict[str, int]:
    """Published praise per month of received_on in the unit's subtree, for fiscal year fy."""
    start, end = fiscal_year_bounds(fy)
    key = month_key(posts.c.received_on, db.get_bind().dialect.name)
    rows = await db.execute(
        sa.select(key, sa.func.count())
        .where(
            posts.c.kind == "praise",
            posts.c.status == PostStatus.published,
            posts.c.received_on >= start,
            posts.c.received_on < end,
            posts.c.unit_id.in_(org.subtree(units.c.code == unit_code)),
        )
        .group_by(key)
    )
    counts = {f"{m.year}-{m.month:02d}": 0 for m in fiscal_year_months(fy)}
    counts.update({k: int(n) for k, n in rows})
    return counts


@router.get("/drafts", name="my_drafts")
async def my_drafts(request: Request, db: SessionDep, user: CurrentUser) -> Response:
    cards, _next = await feed.list_posts(
        db,
        user,
        FeedFilters(),
        statuses=(PostStatus.draft,),
        only_author_id=user.id,
        limit=100,
    )
    return render(request, "posts/drafts.html", {"cards": cards})
