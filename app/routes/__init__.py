"""Server-rendered pages and their HTMX fragments, one module per resource."""

from app.routes import (
    admin,
    admin_import,
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
    settings,
    sso,
)
from app.routing import PagesRouter

router = PagesRouter()
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
    admin_import,
    settings,
    sso,
    notifications,
    events,
):
    router.include_router(module.router)
