"""Server-rendered pages and their HTMX fragments, one module per resource."""

from fastapi import APIRouter

from app.routes import admin, auth, feed, health, moderation

router = APIRouter()
for module in (health, auth, feed, moderation, admin):
    router.include_router(module.router)
