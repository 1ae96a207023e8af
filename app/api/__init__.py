"""The JSON API under /api/v1, one module per resource."""

from app.api import (
    account,
    admin,
    admin_import,
    approvals,
    attachments,
    bulletins,
    changes,
    devices,
    directory,
    docs,
    integrations,
    kpi,
    moderation,
    notifications,
    posts,
    push,
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
router.include_router(push.router, prefix="/api/v1")
router.include_router(admin.router, prefix="/api/v1")
router.include_router(admin_import.router, prefix="/api/v1")
router.include_router(devices.router, prefix="/api/v1")
router.include_router(integrations.router, prefix="/api/v1")
router.include_router(changes.router, prefix="/api/v1")
router.include_router(changes.aliases, prefix="/api/v1")
router.include_router(approvals.router, prefix="/api/v1")
