"""Head office moderation and curation: hide, restore, redact, feature; the open flags queue.

Every action changes its target and adds exactly one audit row (app.services.audit.record,
the curator as actor) in the same transaction, so that both are written or neither is.
State changes are conditional UPDATEs (`... WHERE status = 'published'`): of two curators
acting at once, one wins and the other gets a Conflict, never a second audit row. Input is
checked before anything is written, and a Conflict is raised only when the UPDATE changed
no row, so a refused action has written nothing (no rollback needed: it would also expire
the caller's loaded objects, which the page rendered next still uses).
A post's `comment_count` counts visible (published) comments only, and moves atomically
(`comment_count = comment_count ± 1`) when a comment is hidden or restored.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import clock
from app.i18n import _
from app.inputs import parse_id
from app.models import Comment, CommentStatus, Post, PostStatus, User
from app.models.tables import comments, posts, units, users
from app.models.tables import flags as flags_t
from app.services import audit, notifications
from app.services.comments import clean_body as clean_comment_body
from app.services.comments import render_with_mentions
from app.services.cursor import decode_cursor, encode_cursor
from app.services.errors import Conflict, InvalidInput
from app.services.markdown import render_markdown
from app.services.posts import body_problem, title_problem

REASON_MAX = 1000
NOTE_MAX = 1000
EXCERPT_CHARS = 200

PUBLISHED = PostStatus.published.value
HIDDEN = PostStatus.hidden.value


class Actions:
    """The audit log's action names for moderation and curation."""

    hide_post = "post.hide"
    restore_post = "post.restore"
    redact_post = "post.redact"
    feature_post = "post.feature"
    unfeature_post = "post.unfeature"
    hide_comment = "comment.hide"
    restore_comment = "comment.restore"
    redact_comment = "comment.redact"
    dismiss_flags = "flags.dismiss"


# -- input ---------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFC", value or "").replace("\r\n", "\n").strip()


def clean_reason(reason: str | None, *, required: bool = True) -> str | None:
    text = _clean(reason)
    if not text:
        if required:
            raise InvalidInput.field("reason", _("Enter the reason."))
        return None
    if len(text) > REASON_MAX:
        raise InvalidInput.field(
            "reason", _("The reason can be at most %(n)s characters.") % {"n": REASON_MAX}
        )
    return text


def clean_note(note: str | None) -> str | None:
    text = _clean(note)
    if len(text) > NOTE_MAX:
        raise InvalidInput.field(
            "note", _("The note can be at most %(n)s characters.") % {"n": NOTE_MAX}
        )
    return text or None


def parse_target(target: str | None) -> tuple[str, int] | None:
    """ "post:12" -> ("post", 12); anything else -> None."""
    kind, _sep, raw = (target or "").partition(":")
    target_id = parse_id(raw)
    if kind not in ("post", "comment") or target_id is None:
        return None
    return kind, target_id


# -- posts -----------------------------------------------------------------------------------


async def _resolve_flags(db: AsyncSession, curator: User, target: str, resolution: str) -> int:
    result = await db.execute(
        sa.update(flags_t)
        .where(flags_t.c.target == target, flags_t.c.resolved_at.is_(None))
        .values(resolved_at=clock.now(), resolved_by_id=curator.id, resolution=resolution)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _update_post(db: AsyncSession, post: Post, where: Any, values: dict[str, Any]) -> bool:
    result = await db.execute(sa.update(posts).where(posts.c.id == post.id, where).values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _done(db: AsyncSession, row: Post | Comment) -> None:
    await db.commit()
    await db.refresh(row)


async def hide_post(db: AsyncSession, curator: User, post: Post, reason: str | None) -> Post:
    """Hide a published post (reason required); its open flags are resolved as "hidden"."""
    why = clean_reason(reason)
    now = clock.now()
    changed = await _update_post(
        db,
        post,
        posts.c.status == PUBLISHED,
        {
            "status": HIDDEN,
            "hidden_reason": why,
            "hidden_by_id": curator.id,
            "hidden_at": now,
            "updated_at": now,
        },
    )
    if not changed:
        raise Conflict(
            _("This post is already hidden.")
            if post.status == HIDDEN
            else _("Only a published post can be hidden.")
        )
    resolved = await _resolve_flags(db, curator, f"post:{post.id}", "hidden")
    audit.record(
        db,
        curator,
        Actions.hide_post,
        "post",
        post.id,
        reason=why,
        before={"status": PUBLISHED},
        after={"status": HIDDEN, "flags_resolved": resolved},
    )
    await _done(db, post)
    assert post.id is not None
    await notifications.notify_post_hidden(db, post.id, curator)
    return post


async def restore_post(
    db: AsyncSession, curator: User, post: Post, reason: str | None = None
) -> Post:
    """Publish a hidden post again; the hidden_* fields are cleared (the audit log keeps them)."""
    why = clean_reason(reason, required=False)
    old_reason = post.hidden_reason
    changed = await _update_post(
        db,
        post,
        posts.c.status == HIDDEN,
        {
            "status": PUBLISHED,
            "hidden_reason": None,
            "hidden_by_id": None,
            "hidden_at": None,
            "updated_at": clock.now(),
        },
    )
    if not changed:
        raise Conflict(_("Only a hidden post can be restored."))
    audit.record(
        db,
        curator,
        Actions.restore_post,
        "post",
        post.id,
        reason=why,
        before={"status": HIDDEN, "hidden_reason": old_reason},
        after={"status": PUBLISHED},
    )
    await _done(db, post)
    return post


def _redacted(field_name: str, value: str | None) -> str | None:
    """A redacted title or body must still pass the post's own rule (app/services/posts)."""
    if value is None:
        return None
    text = _clean(value)
    check = title_problem if field_name == "title" else body_problem
    if problem := check(text):
        raise InvalidInput.field(field_name, problem)
    return text


def _nothing_changed(field_name: str) -> InvalidInput:
    return InvalidInput.field(
        field_name, _("Nothing was changed. Edit the text to remove the personal data.")
    )


async def redact_post(
    db: AsyncSession,
    curator: User,
    post: Post,
    title: str | None = None,
    body: str | None = None,
    reason: str | None = None,
) -> Post:
    """Replace the title and/or body to remove personal data.

    The removed text is kept nowhere: the audit row says which fields were redacted, never
    what they held. The search index follows the row (expression index / FTS triggers).
    """
    new_title, new_body = _redacted("title", title), _redacted("body", body)
    why = clean_reason(reason, required=False)
    values: dict[str, Any] = {}
    if new_title is not None and new_title != post.title:
        values["title"] = new_title
    if new_body is not None and new_body != post.body:
        values["body"] = new_body
        values["body_html"] = render_markdown(new_body)
    if not values:
        raise _nothing_changed("body" if body is not None else "title")
    redacted = [name for name in ("title", "body") if name in values]
    now = clock.now()
    values.update(edited_at=now, updated_at=now)
    if not await _update_post(db, post, posts.c.status.in_((PUBLISHED, HIDDEN)), values):
        raise Conflict(_("This post can no longer be changed."))
    audit.record(
        db,
        curator,
        Actions.redact_post,
        "post",
        post.id,
        reason=why,
        before={name: "redacted" for name in redacted},
        after={name: "edited" for name in redacted},
    )
    await _done(db, post)
    return post


async def feature_post(db: AsyncSession, curator: User, post: Post, note: str | None) -> Post:
    """Mark a published post as good practice (好取組), with an optional curator note.

    Featuring a featured post again replaces its note.
    """
    text = clean_note(note)
    before = {"featured": post.featured, "feature_note": post.feature_note}
    changed = await _update_post(
        db,
        post,
        posts.c.status == PUBLISHED,
        {
            "featured": True,
            "feature_note": text,
            "featured_by_id": curator.id,
            "featured_at": clock.now(),
        },
    )
    if not changed:
        raise Conflict(_("Only a published post can be marked as good practice."))
    audit.record(
        db,
        curator,
        Actions.feature_post,
        "post",
        post.id,
        before=before,
        after={"featured": True, "feature_note": text},
    )
    await _done(db, post)
    assert post.id is not None
    await notifications.notify_post_featured(db, post.id, curator)
    return post


async def unfeature_post(db: AsyncSession, curator: User, post: Post) -> Post:
    old_note = post.feature_note
    changed = await _update_post(
        db,
        post,
        posts.c.featured.is_(True),
        {"featured": False, "feature_note": None, "featured_by_id": None, "featured_at": None},
    )
    if not changed:
        raise Conflict(_("This post is not marked as good practice."))
    audit.record(
        db,
        curator,
        Actions.unfeature_post,
        "post",
        post.id,
        before={"featured": True, "feature_note": old_note},
        after={"featured": False},
    )
    await _done(db, post)
    return post


# -- comments --------------------------------------------------------------------------------


async def _set_comment_status(
    db: AsyncSession, comment: Comment, old: str, new: str, reason: str | None
) -> bool:
    result = await db.execute(
        sa.update(comments)
        .where(comments.c.id == comment.id, comments.c.status == old)
        .values(status=new, hidden_reason=reason)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    delta = -1 if old == CommentStatus.published.value else 1
    await db.execute(
        sa.update(posts)
        .where(posts.c.id == comment.post_id)
        .values(comment_count=posts.c.comment_count + delta)
    )
    return True


async def hide_comment(
    db: AsyncSession, curator: User, comment: Comment, reason: str | None
) -> Comment:
    """Hide a published comment; the post's comment_count drops by one in the same step."""
    why = clean_reason(reason)
    if not await _set_comment_status(
        db, comment, CommentStatus.published.value, CommentStatus.hidden.value, why
    ):
        raise Conflict(
            _("This comment is already hidden.")
            if comment.status == CommentStatus.hidden.value
            else _("Only a published comment can be hidden.")
        )
    resolved = await _resolve_flags(db, curator, f"comment:{comment.id}", "hidden")
    audit.record(
        db,
        curator,
        Actions.hide_comment,
        "comment",
        comment.id,
        reason=why,
        before={"status": CommentStatus.published.value},
        after={"status": CommentStatus.hidden.value, "flags_resolved": resolved},
    )
    await _done(db, comment)
    return comment


async def restore_comment(
    db: AsyncSession, curator: User, comment: Comment, reason: str | None = None
) -> Comment:
    why = clean_reason(reason, required=False)
    old_reason = comment.hidden_reason
    if not await _set_comment_status(
        db, comment, CommentStatus.hidden.value, CommentStatus.published.value, None
    ):
        raise Conflict(_("Only a hidden comment can be restored."))
    audit.record(
        db,
        curator,
        Actions.restore_comment,
        "comment",
        comment.id,
        reason=why,
        before={"status": CommentStatus.hidden.value, "hidden_reason": old_reason},
        after={"status": CommentStatus.published.value},
    )
    await _done(db, comment)
    return comment


async def redact_comment(
    db: AsyncSession, curator: User, comment: Comment, body: str | None, reason: str | None = None
) -> Comment:
    """Replace a comment's text to remove personal data; the removed text is kept nowhere."""
    text = clean_comment_body(body)
    why = clean_reason(reason, required=False)
    if text == comment.body:
        raise _nothing_changed("body")
    result = await db.execute(
        sa.update(comments)
        .where(comments.c.id == comment.id, comments.c.status != CommentStatus.deleted.value)
        .values(body=text, body_html=await render_with_mentions(db, text), edited_at=clock.now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This comment can no longer be changed."))
    audit.record(
        db,
        curator,
        Actions.redact_comment,
        "comment",
        comment.id,
        reason=why,
        before={"body": "redacted"},
        after={"body": "edited"},
    )
    await _done(db, comment)
    return comment


# -- flags -----------------------------------------------------------------------------------


async def target_exists(db: AsyncSession, target: str) -> bool:
    parsed = parse_target(target)
    if parsed is None:
        return False
    table = posts if parsed[0] == "post" else comments
    found = await db.execute(sa.select(table.c.id).where(table.c.id == parsed[1]))
    return found.first() is not None


async def dismiss_flags(
    db: AsyncSession, curator: User, target: str, reason: str | None = None
) -> int:
    """Close every open flag on a target as "dismissed" (nothing to act on). Returns how many."""
    parsed = parse_target(target)
    assert parsed is not None, "check the target with target_exists first"
    why = clean_reason(reason, required=False)
    count = await _resolve_flags(db, curator, target, "dismissed")
    if count == 0:
        raise Conflict(_("There are no open reports on this."))
    audit.record(
        db,
        curator,
        Actions.dismiss_flags,
        parsed[0],
        parsed[1],
        reason=why,
        after={"flags_dismissed": count},
    )
    await db.commit()
    return count


# -- reading: the queue and recent posts ----------------------------------------------------


@dataclass(slots=True)
class FlagView:
    id: int
    reason: str
    note: str | None
    created_at: datetime
    reporter_code: str
    reporter_name: str


@dataclass(slots=True)
class TargetPost:
    id: int
    kind: str
    title: str
    body: str
    status: str
    featured: bool
    feature_note: str | None
    hidden_reason: str | None
    created_at: datetime
    like_count: int
    comment_count: int
    author_code: str
    author_name: str
    unit_code: str
    unit_name: str

    @property
    def excerpt(self) -> str:
        return _excerpt(self.body)


@dataclass(slots=True)
class TargetComment:
    id: int
    post_id: int
    body: str
    status: str
    hidden_reason: str | None
    created_at: datetime
    author_code: str
    author_name: str

    @property
    def excerpt(self) -> str:
        return _excerpt(self.body)


@dataclass(slots=True)
class FlagGroup:
    """The open flags on one target, with what is needed to judge it."""

    target: str
    target_type: str
    target_id: int
    oldest: datetime
    first_id: int
    post: TargetPost
    comment: TargetComment | None = None
    flags: list[FlagView] = field(default_factory=list)
    # Set after an action in place ("hidden", "dismissed", ...): the group is shown as done.
    resolved: str | None = None

    @property
    def count(self) -> int:
        return len(self.flags)

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """Each reason with its count, most reported first."""
        return Counter(f.reason for f in self.flags).most_common()

    @property
    def notes(self) -> list[FlagView]:
        return [f for f in self.flags if f.note]

    @property
    def dom_id(self) -> str:
        return f"flag-group-{self.target_type}-{self.target_id}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


_POST_COLUMNS = (
    posts.c.id,
    posts.c.kind,
    posts.c.title,
    posts.c.body,
    posts.c.status,
    posts.c.featured,
    posts.c.feature_note,
    posts.c.hidden_reason,
    posts.c.created_at,
    posts.c.like_count,
    posts.c.comment_count,
    users.c.code,
    users.c.name,
    units.c.code,
    units.c.name,
)
_POST_FROM = posts.join(users, users.c.id == posts.c.author_id).join(
    units, units.c.id == posts.c.unit_id
)


async def _posts_by_id(db: AsyncSession, ids: set[int]) -> dict[int, TargetPost]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(*_POST_COLUMNS).select_from(_POST_FROM).where(posts.c.id.in_(ids))
    )
    return {r[0]: TargetPost(*r) for r in rows}


async def _comments_by_id(db: AsyncSession, ids: set[int]) -> dict[int, TargetComment]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(
            comments.c.id,
            comments.c.post_id,
            comments.c.body,
            comments.c.status,
            comments.c.hidden_reason,
            comments.c.created_at,
            users.c.code,
            users.c.name,
        )
        .join(users, users.c.id == comments.c.author_id)
        .where(comments.c.id.in_(ids))
    )
    return {r[0]: TargetComment(*r) for r in rows}


async def _groups_for(db: AsyncSession, heads: list[tuple[str, datetime, int]]) -> list[FlagGroup]:
    """Build groups (in the given order) for (target, oldest, first_id) heads."""
    if not heads:
        return []
    targets = [h[0] for h in heads]
    flag_rows = await db.execute(
        sa.select(
            flags_t.c.target,
            flags_t.c.id,
            flags_t.c.reason,
            flags_t.c.note,
            flags_t.c.created_at,
            users.c.code,
            users.c.name,
            flags_t.c.post_id,
            flags_t.c.comment_id,
        )
        .join(users, users.c.id == flags_t.c.reporter_id)
        .where(flags_t.c.target.in_(targets), flags_t.c.resolved_at.is_(None))
        .order_by(flags_t.c.created_at, flags_t.c.id)
    )
    by_target: dict[str, list[FlagView]] = {t: [] for t in targets}
    post_of: dict[str, int] = {}
    for target, fid, reason, note, created_at, code, name, post_id, _comment_id in flag_rows:
        by_target[target].append(FlagView(fid, reason, note, created_at, code, name))
        post_of[target] = post_id
    comment_ids = {p[1] for t in targets if (p := parse_target(t)) and p[0] == "comment"}
    found_comments = await _comments_by_id(db, comment_ids)
    for t in targets:
        parsed = parse_target(t)
        if parsed and parsed[0] == "comment" and parsed[1] in found_comments:
            post_of[t] = found_comments[parsed[1]].post_id
        elif parsed and parsed[0] == "post":
            post_of[t] = parsed[1]
    found_posts = await _posts_by_id(db, set(post_of.values()))
    groups = []
    for target, oldest, first_id in heads:
        parsed = parse_target(target)
        post = found_posts.get(post_of.get(target, -1))
        if parsed is None or post is None:
            continue
        groups.append(
            FlagGroup(
                target=target,
                target_type=parsed[0],
                target_id=parsed[1],
                oldest=oldest,
                first_id=first_id,
                post=post,
                comment=found_comments.get(parsed[1]) if parsed[0] == "comment" else None,
                flags=by_target[target],
            )
        )
    return groups


async def open_flags(
    db: AsyncSession, reason: str | None = None, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[FlagGroup], str | None]:
    """Open flags grouped by target, the group with the oldest flag first (keyset paginated).

    With `reason`, only the targets that have an open flag for that reason; each group still
    shows all its open flags.
    """
    oldest = sa.func.min(flags_t.c.created_at)
    first_id = sa.func.min(flags_t.c.id)
    stmt = (
        sa.select(flags_t.c.target, oldest.label("oldest"), first_id.label("first_id"))
        .where(flags_t.c.resolved_at.is_(None))
        .group_by(flags_t.c.target)
    )
    if reason:
        stmt = stmt.having(sa.func.sum(sa.case((flags_t.c.reason == reason, 1), else_=0)) > 0)
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.having(sa.or_(oldest > at, sa.and_(oldest == at, first_id > last_id)))
    stmt = stmt.order_by(oldest, first_id).limit(limit + 1)
    heads = [(r[0], r[1], r[2]) for r in await db.execute(stmt)]
    groups = await _groups_for(db, heads[:limit])
    next_cursor = None
    if len(heads) > limit:
        last = heads[limit - 1]
        next_cursor = encode_cursor(last[1], last[2])
    return groups, next_cursor


async def flag_group(db: AsyncSession, target: str) -> FlagGroup | None:
    """One target's group (its open flags, possibly none), for re-rendering after an action."""
    parsed = parse_target(target)
    if parsed is None:
        return None
    head = (
        await db.execute(
            sa.select(sa.func.min(flags_t.c.created_at), sa.func.min(flags_t.c.id)).where(
                flags_t.c.target == target, flags_t.c.resolved_at.is_(None)
            )
        )
    ).one()
    groups = await _groups_for(db, [(target, head[0] or clock.now(), head[1] or 0)])
    return groups[0] if groups else None


async def open_flag_count(db: AsyncSession) -> int:
    stmt = sa.select(sa.func.count(sa.distinct(flags_t.c.target))).where(
        flags_t.c.resolved_at.is_(None)
    )
    return int((await db.execute(stmt)).scalar_one())


async def recent_posts(
    db: AsyncSession, *, cursor: str | None = None, limit: int = 30
) -> tuple[list[TargetPost], str | None]:
    """Published and hidden posts, newest first, for the moderation page."""
    stmt = (
        sa.select(*_POST_COLUMNS)
        .select_from(_POST_FROM)
        .where(posts.c.status.in_((PUBLISHED, HIDDEN)))
    )
    if cursor:
        at, last_id = decode_cursor(cursor)
        stmt = stmt.where(
            posts.c.created_at <= at, (posts.c.created_at < at) | (posts.c.id < last_id)
        )
    stmt = stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(limit + 1)
    rows = [TargetPost(*r) for r in await db.execute(stmt)]
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return rows[:limit], next_cursor


async def post_row(db: AsyncSession, post_id: int) -> TargetPost | None:
    return (await _posts_by_id(db, {post_id})).get(post_id)
