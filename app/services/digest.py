"""The e-mail digest (`arigato digest send`, for cron): per user daily or weekly, what they
have not seen — unread notifications and new bulletins for their unit — in one short mail.

- Due: a daily digest once per Tokyo day, a weekly one once per Tokyo week (Monday first);
  `off` never. Users without an e-mail address or deactivated are skipped.
- Window: what happened since the user's last digest run (`digest_sent_at`), so nothing is
  mailed twice; the first digest looks back one period.
- Content: names, post titles and links only. A post's body, a comment's text or a hidden
  post's reason never enter a mail: they may carry a customer's words (SPEC §2).
- Capped: at most DIGEST_MAX_ITEMS lines, then "and N more".
- Idempotent, also when two runs overlap: each user is claimed by a guarded UPDATE of
  `digest_sent_at` (a row lock on PostgreSQL, the write lock on SQLite) in the transaction
  that is committed only after the mail was accepted by the server; a failed send rolls the
  claim back, so the next run tries again.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock, i18n
from app.config import Settings
from app.i18n import _
from app.logging import get_logger
from app.models import BulletinStatus, DigestFrequency, User
from app.models.tables import bulletin_reads, bulletins, users
from app.services import notifications as notification_service
from app.services import org
from app.services.errors import DomainError

DIGEST_MAX_ITEMS = 20
log = get_logger("arigato.digest")


class DigestError(DomainError):
    """The digest cannot be sent (no mail server configured): 503."""

    status_code = 503


@dataclass(slots=True)
class DigestLine:
    text: str
    url: str


@dataclass
class Digest:
    user: User
    lines: list[DigestLine] = field(default_factory=list)
    more: int = 0

    @property
    def empty(self) -> bool:
        return not self.lines


@dataclass
class DigestReport:
    sent: list[str] = field(default_factory=list)  # user codes
    skipped: int = 0  # not due, nothing new, or claimed by another run
    failed: int = 0  # the mail server refused or was unreachable: retried next run


def period_start(frequency: str, now: datetime) -> datetime:
    """The start (UTC) of the Tokyo day or week `now` is in."""
    local = i18n.local_datetime(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == DigestFrequency.weekly:
        day -= timedelta(days=day.weekday())
    return day.astimezone(now.tzinfo)


def is_due(frequency: str, last_sent: datetime | None, now: datetime) -> bool:
    if frequency not in (DigestFrequency.daily, DigestFrequency.weekly):
        return False
    return last_sent is None or last_sent < period_start(frequency, now)


def window_start(frequency: str, last_sent: datetime | None, now: datetime) -> datetime:
    if last_sent is not None:
        return last_sent
    return now - timedelta(days=7 if frequency == DigestFrequency.weekly else 1)


async def build(
    db: AsyncSession, user: User, since: datetime, now: datetime, url_for: Callable[..., str]
) -> Digest:
    """The user's digest for (since, now]: unread notifications, then new bulletins."""
    assert user.id is not None
    digest = Digest(user)
    views, _next = await notification_service.list_for(db, user, limit=500)
    fresh = [v for v in views if v.unread and since < v.updated_at <= now and v.target is not None]
    bulletin_ids = {v.bulletin_id for v in fresh if v.bulletin_id is not None}
    for v in fresh:
        target = v.target
        assert target is not None
        digest.lines.append(DigestLine(v.message, url_for(target[0], **target[1])))
    # Bulletins published for the user's unit that they have not opened, in case no
    # notification told of them.
    new_bulletins = await db.execute(
        sa.select(bulletins.c.id, bulletins.c.title, bulletins.c.volume)
        .where(
            bulletins.c.status == BulletinStatus.published,
            bulletins.c.published_at > since,
            bulletins.c.published_at <= now,
            org.in_audience(user.unit_id),
            ~sa.exists().where(
                bulletin_reads.c.bulletin_id == bulletins.c.id,
                bulletin_reads.c.user_id == user.id,
            ),
        )
        .order_by(bulletins.c.published_at.desc())
    )
    for bulletin_id, title, volume in new_bulletins:
        if bulletin_id in bulletin_ids:
            continue
        label = notification_service.bulletin_label(title, volume)
        digest.lines.append(
            DigestLine(
                _("New bulletin: %(bulletin)s") % {"bulletin": label},
                url_for("show_bulletin", bulletin_id=bulletin_id),
            )
        )
    if len(digest.lines) > DIGEST_MAX_ITEMS:
        digest.more = len(digest.lines) - DIGEST_MAX_ITEMS
        digest.lines = digest.lines[:DIGEST_MAX_ITEMS]
    return digest


def compose(digest: Digest, settings: Settings, url_for: Callable[..., str]) -> EmailMessage:
    """The mail, in the user's language (UTF-8): one line and one link per item."""
    count = len(digest.lines) + digest.more
    msg = EmailMessage()
    msg["Subject"] = _("[Arigato Board] %(n)s new notifications") % {"n": count}
    msg["From"] = formataddr((_("Arigato Board"), settings.smtp_from))
    msg["To"] = formataddr((digest.user.name, digest.user.email or ""))
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    lines = [
        _("Hello %(name)s,") % {"name": digest.user.name},
        "",
        _("Here is what you have not seen on Arigato Board yet:"),
        "",
    ]
    for item in digest.lines:
        lines += [f"・{item.text}", f"  {item.url}", ""]
    if digest.more:
        lines += [_("…and %(n)s more.") % {"n": digest.more}, ""]
    lines += [
        _("All notifications: %(url)s") % {"url": url_for("list_notifications")},
        _("You receive this digest %(frequency)s. Change it on the notifications page.")
        % {
            "frequency": _("every day")
            if digest.user.digest == DigestFrequency.daily
            else _("every week")
        },
    ]
    msg.set_content("\n".join(lines), charset="utf-8")
    return msg


def smtp_send(settings: Settings, message: EmailMessage) -> None:
    """Hand one message to the configured SMTP server (blocking: run it in a thread)."""
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


async def send_digests(
    db: AsyncSession,
    settings: Settings,
    *,
    path_for: Callable[..., Any],
    send: Callable[[Settings, EmailMessage], None] = smtp_send,
) -> DigestReport:
    """Send every due digest; see the module's docstring for the rules.

    `path_for(route_name, **params)` is the page routes' path builder (the caller's: a
    service does not import the web layer); the links are BASE_URL + that path.
    """
    if not settings.smtp_host:
        raise DigestError("SMTP_HOST is not set: there is no mail server to send the digest")
    base = settings.base_url.rstrip("/")

    def url_for(name: str, **params: Any) -> str:
        return base + str(path_for(name, **params))

    now = clock.now()
    report = DigestReport()
    candidates = (
        await db.execute(
            sa.select(users.c.id, users.c.digest, users.c.digest_sent_at).where(
                users.c.active.is_(True),
                users.c.digest.in_((DigestFrequency.daily, DigestFrequency.weekly)),
                users.c.email.is_not(None),
                users.c.email != "",
            )
        )
    ).all()
    await db.rollback()
    for user_id, frequency, previous in candidates:
        if not is_due(frequency, previous, now):
            report.skipped += 1
            continue
        # The claim: only one run moves digest_sent_at on from the value it read. Its
        # transaction stays open until the mail is accepted, then commits.
        claim = (
            sa.update(users)
            .where(
                users.c.id == user_id,
                users.c.digest_sent_at.is_(None)
                if previous is None
                else users.c.digest_sent_at == previous,
            )
            .values(digest_sent_at=now)
        )
        if (await db.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
            report.skipped += 1
            await db.rollback()
            continue
        user = await db.get(User, user_id, populate_existing=True)
        assert user is not None
        token = i18n.current_locale.set(user.locale if user.locale in i18n.LOCALES else "ja")
        try:
            digest = await build(db, user, window_start(frequency, previous, now), now, url_for)
            if digest.empty:
                report.skipped += 1
            else:
                await asyncio.to_thread(send, settings, compose(digest, settings, url_for))
                report.sent.append(user.code)
        except (OSError, smtplib.SMTPException) as exc:
            # The claim is undone: the next run tries this user again.
            await db.rollback()
            log.warning("digest not sent", user=user_id, error=type(exc).__name__)
            report.failed += 1
            continue
        finally:
            i18n.current_locale.reset(token)
        await db.commit()
    return report
