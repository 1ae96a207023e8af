"""A user's push settings: which kinds of notification are pushed, and quiet hours (in the
site's time zone, Asia/Tokyo by default) during which pushes are held until they end."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from app import i18n
from app.i18n import _
from app.models import NotificationKind, PushSettings
from app.services.errors import InvalidInput

# The setting that governs each kind of notification.
KIND_SETTING = {
    NotificationKind.like: "like",
    NotificationKind.reaction: "like",  # スタンプ go with likes: the same kind of news
    NotificationKind.comment: "comment",
    NotificationKind.mention: "mention",
    NotificationKind.featured: "featured",
    NotificationKind.hidden: "hidden",
    NotificationKind.bulletin: "bulletin",
    NotificationKind.bulletin_item: "bulletin",
    NotificationKind.bulletin_reminder: "bulletin",  # a reminder to read one
}
SETTING_NAMES = ("like", "comment", "mention", "featured", "hidden", "bulletin")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def setting_labels() -> dict[str, str]:
    return {
        "like": _("Likes and reactions on my posts"),
        "comment": _("Comments on my posts"),
        "mention": _("Mentions of me"),
        "featured": _("My post chosen as good practice"),
        "hidden": _("My post hidden by head office"),
        "bulletin": _("New bulletins for my unit, and reminders to read them"),
    }


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class PushSettingsIn(BaseModel):
    """The push settings, as `from_form` reads them from the form."""

    model_config = ConfigDict(extra="forbid")

    like: bool = False
    comment: bool = False
    mention: bool = False
    featured: bool = False
    hidden: bool = False
    bulletin: bool = False
    quiet: bool = False
    quiet_start: str = Field(default="21:00")
    quiet_end: str = Field(default="08:00")

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value.strip()):
            raise ValueError(_("Enter a time as HH:MM (e.g. 21:00)."))
        return value.strip()


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


async def get_settings_of(db: AsyncSession, user_id: int) -> PushSettings:
    """The user's settings (the defaults, not saved, when they never changed them)."""
    return await db.get(PushSettings, user_id) or PushSettings(user_id=user_id)


def from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """A ticked checkbox sends "on"; an unticked one sends nothing."""
    data: dict[str, Any] = {name: form.get(name) == "on" for name in (*SETTING_NAMES, "quiet")}
    for name in ("quiet_start", "quiet_end"):
        value = form.get(name)
        if isinstance(value, str):
            data[name] = value
    return data


async def save_settings(db: AsyncSession, user_id: int, form: Mapping[str, Any]) -> PushSettings:
    """Save the settings form (raw form fields: see `from_form`)."""
    try:
        data = PushSettingsIn.model_validate(from_form(form))
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None
    row = await get_settings_of(db, user_id)
    for name in SETTING_NAMES:
        setattr(row, name, getattr(data, name))
    row.quiet = data.quiet
    row.quiet_start = _minutes(data.quiet_start)
    row.quiet_end = _minutes(data.quiet_end)
    db.add(row)
    await db.commit()
    return row


def wants(settings: PushSettings, kind: str) -> bool:
    name = KIND_SETTING.get(NotificationKind(kind)) if kind in KIND_SETTING else None
    return bool(name and getattr(settings, name))


def quiet_until(settings: PushSettings, now: datetime) -> datetime | None:
    """When the quiet hours `now` falls in end (None: not in quiet hours)."""
    start, end = settings.quiet_start, settings.quiet_end
    if not settings.quiet or start == end:
        return None
    local = i18n.local_datetime(now)
    minute = local.hour * 60 + local.minute
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if start < end:  # e.g. 12:00–13:00
        quiet = start <= minute < end
        ends = midnight + timedelta(minutes=end)
    elif minute >= start:  # e.g. 21:00–8:00, in the evening
        quiet, ends = True, midnight + timedelta(days=1, minutes=end)
    else:  # ... or in the morning
        quiet, ends = minute < end, midnight + timedelta(minutes=end)
    return ends.astimezone(now.tzinfo) if quiet else None
