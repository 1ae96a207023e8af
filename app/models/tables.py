"""The tables as SQLAlchemy Core `Table` objects, for hot-path Core statements."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from app.models import (
    Attachment,
    AuditEntry,
    Bulletin,
    BulletinAudience,
    BulletinItem,
    BulletinRead,
    Comment,
    ComplaintVoice,
    Flag,
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
comments = _t(Comment)
tags = _t(Tag)
post_tags = _t(PostTag)
post_praised = _t(PostPraised)
attachments = _t(Attachment)
flags = _t(Flag)
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
