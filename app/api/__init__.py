"""The JSON API under /api/v1, one module per resource."""

from app.api import (
    account,
    admin,
    admin_import,
    attachments,
    bulletins,
    directory,
    docs,
    kpi,
    moderation,
    notifications,
    posts,
)
from app.routing import ApiRouter

router = ApiRouter()
router.include_router(docs.router)
router.include_router(directory.router, prefix="/api/v1")
router.include_router(posts.router, prefix="/api/v1")
router.include_router(attachments.router, prefix="/api/v1")
router.include_router(moderation.router, prefix="/api/v1")
router.include_router(bulletins.router, prefix="/api/v1")
router.include_router(kpi.router, prefix="/api/v1")
router.include_router(notifications.router, prefix="/api/v1")
router.include_router(account.router, prefix="/api/v1")
router.include_router(admin.router, prefix="/api/v1")
router.include_router(admin_import.router, prefix="/api/v1")
