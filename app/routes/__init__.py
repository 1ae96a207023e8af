"""Server-rendered pages and their HTMX fragments, one module per resource."""

from fastapi import APIRouter

from app.routes import (
    admin,
    attachments,
    audit,
    auth,
    bulletins,
    comments,
    events,
    feed,
    health,
    kpi,
    moderation,
    notifications,
    people,
    posts,
)

router = APIRouter()
for module in (
    health,
    auth,
    feed,
    posts,
    comments,
    people,
    attachments,
    moderation,
    bulletins,
    kpi,
    audit,
    admin,
    notifications,
    events,
):
    router.include_router(module.router)
