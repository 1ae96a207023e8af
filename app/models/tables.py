"""The tables as SQLAlchemy Core `Table` objects, for hot-path Core statements."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from app.models import (
    ApiToken,
    ApprovalRequest,
    Attachment,
    AuditEntry,
    Bulletin,
    BulletinAudience,
    BulletinItem,
    BulletinRead,
    Change,
    Comment,
    ComplaintVoice,
    Device,
    Flag,
    ImageCheckJob,
    Integration,
    IntegrationDelivery,
    KpiMonthClose,
    KpiPraiseMonthly,
    KpiSnapshotCount,
    KpiVersion,
    Like,
    Notification,
    OrgUnit,
    Post,
    PostPraised,
    PostTag,
    PushOutbox,
    PushSettings,
    PushSubscription,
    Reaction,
    RolloutResponse,
    Tag,
    User,
)


def _t(model: type) -> sa.Table:
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


posts = _t(Post)
users = _t(User)
units = _t(OrgUnit)
likes = _t(Like)
reactions = _t(Reaction)
comments = _t(Comment)
tags = _t(Tag)
post_tags = _t(PostTag)
post_praised = _t(PostPraised)
attachments = _t(Attachment)
flags = _t(Flag)
image_check_jobs = _t(ImageCheckJob)
api_tokens = _t(ApiToken)
audit_log = _t(AuditEntry)
bulletins = _t(Bulletin)
bulletin_items = _t(BulletinItem)
bulletin_audience = _t(BulletinAudience)
bulletin_reads = _t(BulletinRead)
rollout_responses = _t(RolloutResponse)
kpi_month_closes = _t(KpiMonthClose)
kpi_snapshot_counts = _t(KpiSnapshotCount)
complaint_voices = _t(ComplaintVoice)
notifications = _t(Notification)
kpi_praise_monthly = _t(KpiPraiseMonthly)
kpi_version = _t(KpiVersion)
push_subscriptions = _t(PushSubscription)
push_settings = _t(PushSettings)
push_outbox = _t(PushOutbox)
devices = _t(Device)
integrations = _t(Integration)
integration_deliveries = _t(IntegrationDelivery)
changes = _t(Change)
approval_requests = _t(ApprovalRequest)
