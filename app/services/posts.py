"""Posts: the validation rules of both kinds, the personal data guard, create/edit/delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError, field_validator, model_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import events, i18n
from app.db import upsert
from app.i18n import _
from app.models import (
    Channel,
    ComplaintCategory,
    KnowhowCategory,
    OrgUnit,
    Post,
    PostKind,
    PostPraised,
    PostStatus,
    PostTag,
    Product,
    Tag,
    User,
    tables,
)
from app.models.base import utcnow
from app.services import complaints, flags, org
from app.services.errors import InvalidInput
from app.services.inputs import BODY_MAX as BODY_MAX
from app.services.inputs import COMPLAINT_SUMMARY_MAX, PostComplaintIn, PostCreate, cleaned
from app.services.inputs import PRAISED_MAX as PRAISED_MAX
from app.services.inputs import TAG_MAX as TAG_MAX
from app.services.inputs import TAGS_MAX as TAGS_MAX
from app.services.inputs import TITLE_MAX as TITLE_MAX
from app.services.integrations import events as integration_events
from app.services.markdown import render_markdown
from app.services.pii import find_personal_data, mask_personal_data
from app.services.search import indexed_text

PRAISE_ONLY = ("received_on", "channel", "product", "praised")
KNOWHOW_ONLY = ("category",)


_TAG_SEPARATORS = str.maketrans(dict.fromkeys("、，,", " "))


def split_tags(text: str) -> list[str]:
    """The one tag tokenizer: tags are separated by spaces (full-width ones too) or commas
    (Japanese ones too). A tag sent alone (an item of the API's list) is split the same
    way, so the same text gives the same tags from the form and from the API."""
    return text.translate(_TAG_SEPARATORS).split()


def title_problem(text: str) -> str | None:
    """What is wrong with a (cleaned) title, in the user's language; None when it is fine.
    The one rule for titles: posts and head office's redaction both use it."""
    if not text:
        return _("Enter a title.")
    if len(text) > TITLE_MAX:
        return _("The title can be at most %(n)s characters.") % {"n": TITLE_MAX}
    return None


def body_problem(text: str) -> str | None:
    """The same for a post's text."""
    if not text:
        return _("Enter the text.")
    if len(text) > BODY_MAX:
        return _("The text can be at most %(n)s characters.") % {"n": BODY_MAX}
    return None


def _choice(value: str | None, choices: type[Any], field_msg: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in {c.value for c in choices}:
        raise ValueError(field_msg)
    return value


class PostFields(PostCreate):
    """Every field a post may have (the input model's); the rules that need no database."""

    @field_validator("title", "body", "unit", "channel", "product", "category", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return cleaned(v)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in {k.value for k in PostKind}:
            raise ValueError(_("Choose thanks or know-how."))
        return v

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        if problem := title_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("body")
    @classmethod
    def _body(cls, v: str) -> str:
        if problem := body_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("status")
    @classmethod
    def _status(cls, v: str) -> str:
        if v not in (PostStatus.draft, PostStatus.published):
            raise ValueError(_("A post is either a draft or published."))
        return v

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return v
        # Counted before any per-tag work, so a request with thousands of tags costs nothing.
        if len(v) > TAGS_MAX:
            raise ValueError(_("At most %(n)s tags.") % {"n": TAGS_MAX})
        words: list[str] = []
        for raw in v:
            if not isinstance(raw, str):
                raise ValueError(_("Tags must be text."))
            words.extend(split_tags(cleaned(raw)))
        if len(words) > TAGS_MAX:
            raise ValueError(_("At most %(n)s tags.") % {"n": TAGS_MAX})
        seen: dict[str, None] = {}  # ordered, and O(1) per look-up
        for word in words:
            tag = word.lstrip("#＃")
            if not tag:
                continue
            if len(tag) > TAG_MAX:
                raise ValueError(_("A tag can be at most %(n)s characters.") % {"n": TAG_MAX})
            seen.setdefault(tag)
        return list(seen)

    @field_validator("praised", mode="before")
    @classmethod
    def _praised(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in v.replace(",", " ").split() if p]
        if isinstance(v, list):
            v = list(dict.fromkeys(str(p).strip() for p in v if str(p).strip()))
            if len(v) > PRAISED_MAX:
                raise ValueError(_("At most %(n)s colleagues.") % {"n": PRAISED_MAX})
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        return _choice(v, Channel, _("Choose how the customer said it."))

    @field_validator("product")
    @classmethod
    def _product(cls, v: str | None) -> str | None:
        return _choice(v, Product, _("Choose a product from the list."))

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        return _choice(v, KnowhowCategory, _("Choose knowledge, skill or tool."))

    @field_validator("complaint")
    @classmethod
    def _complaint(cls, v: PostComplaintIn | None) -> PostComplaintIn | None:
        if v is None:
            return v
        category = _choice(v.category, ComplaintCategory, _("Choose a complaint category."))
        summary = cleaned(v.summary)
        if len(summary) > COMPLAINT_SUMMARY_MAX:
            raise ValueError(
                _("The summary can be at most %(n)s characters.") % {"n": COMPLAINT_SUMMARY_MAX}
            )
        return PostComplaintIn(category=category or ComplaintCategory.other, summary=summary)

    @model_validator(mode="after")
    def _kind_fields(self) -> PostFields:
        errors = []
        if self.kind != PostKind.praise and self.complaint is not None:
            errors.append(_("Only a thanks post can carry a complaint."))
        if self.kind == PostKind.praise:
            if self.category is not None:
                errors.append(_("category is for know-how posts only."))
            if self.channel is None:
                errors.append(_("Choose how the customer said it."))
            if self.received_on is None:
                self.received_on = i18n.today()
            elif self.received_on > i18n.today():
                errors.append(_("The date the customer said it cannot be in the future."))
        else:
            wrong = [f for f in PRAISE_ONLY if getattr(self, f)]
            if wrong:
                errors.append(
                    _("%(fields)s are for thanks posts only.") % {"fields": ", ".join(wrong)}
                )
            if self.category is None:
                errors.append(_("Choose knowledge, skill or tool."))
        if errors:
            raise ValueError(" ".join(errors))
        return self


def validate_fields(data: dict[str, Any]) -> PostFields:
    try:
        return PostFields.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


# The input fields a post row keeps as they were given (tags, praised, unit are links).
SAVED_AS_IS = frozenset(Post.model_fields) & frozenset(PostCreate.model_fields)


def fields_of(post: Post, tags: list[str], praised: list[str], unit_code: str) -> dict[str, Any]:
    """A saved post as its input model's fields: what an edit starts from."""
    saved = set(Post.model_fields) & set(PostCreate.model_fields)
    fields: dict[str, Any] = {
        name: getattr(post, name) for name in PostCreate.model_fields if name in saved
    }
    fields.update(tags=tags, praised=praised, unit=unit_code)
    return fields


def personal_data_spans(fields: PostFields) -> list[dict[str, Any]]:
    spans = []
    for name in ("title", "body"):
        for span in find_personal_data(getattr(fields, name)):
            spans.append(
                {
                    "field": name,
                    "start": span.start,
                    "end": span.end,
                    "kind": span.kind,
                    "text": span.text,
                }
            )
    return spans


def guard_personal_data(fields: PostFields) -> bool:
    """SPEC §7: ask before publishing text that looks like a customer's personal data.
    True when there is some and the author confirmed it may be shown ("post as it is")."""
    spans = personal_data_spans(fields)
    if spans and fields.confirm_personal_data:
        return True
    if spans:
        raise InvalidInput(
            [
                {
                    "loc": ["body", spans[0]["field"]],
                    "msg": _(
                        "This text may contain a customer's personal data. Mask it, or confirm that it may be shown."  # noqa: E501
                    ),
                    "type": "personal_data",
                    "ctx": {"spans": spans},
                }
            ]
        )
    return False


async def _flag_if_confirmed(db: AsyncSession, post: Post, confirmed: bool) -> None:
    """A published post its author confirmed as "not personal data" still goes to head
    office: the system opens a personal_info flag on it (one open at a time), in the post's
    transaction. A draft gets it when it is published (the guard asks again then)."""
    if confirmed and post.status == PostStatus.published:
        assert post.id is not None
        await flags.open_system_flag(db, post.id)


def mask_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The one-click mask: ●●● over every detected span of title and body."""
    out = dict(data)
    for name in ("title", "body"):
        if isinstance(out.get(name), str):
            out[name] = mask_personal_data(out[name])
    return out


async def _unit_for(db: AsyncSession, author: User, code: str | None) -> OrgUnit:
    """An author posts for their own unit or one above it in the tree."""
    own = await db.get(OrgUnit, author.unit_id)
    assert own is not None
    if not code or code == own.code:
        return own
    assert own.id is not None
    above = (
        await db.exec(
            select(OrgUnit).where(OrgUnit.code == code, col(OrgUnit.id).in_(org.ancestors(own.id)))
        )
    ).first()
    if above is not None:
        return above
    exists = (await db.exec(select(OrgUnit.id).where(OrgUnit.code == code))).first()
    msg = (
        _("You can only post for your own unit.")
        if exists
        else _("Unknown unit %(code)s.") % {"code": code}
    )
    raise InvalidInput.field("unit", msg)


async def _praised_users(db: AsyncSession, codes: list[str]) -> list[User]:
    if not codes:
        return []
    found = {
        u.code: u
        for u in (
            await db.exec(select(User).where(col(User.code).in_(codes), col(User.active).is_(True)))
        ).all()
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput.field(
            "praised", _("Unknown colleague: %(codes)s.") % {"codes": ", ".join(missing)}
        )
    return [found[c] for c in codes]


async def _tag_ids(db: AsyncSession, names: list[str]) -> list[int]:
    if not names:
        return []
    stmt = upsert(db, tables.tags).values([{"name": n} for n in names])
    await db.exec(stmt.on_conflict_do_nothing(index_elements=["name"]))
    rows = (await db.exec(select(Tag.name, Tag.id).where(col(Tag.name).in_(names)))).all()
    ids: dict[str, int] = {name: tag_id for name, tag_id in rows if tag_id is not None}
    return [ids[n] for n in names]


async def _write_links(
    db: AsyncSession, post: Post, fields: PostFields, praised: list[User]
) -> None:
    assert post.id is not None
    await db.exec(sa.delete(PostTag).where(col(PostTag.post_id) == post.id))
    await db.exec(sa.delete(PostPraised).where(col(PostPraised.post_id) == post.id))
    for tag_id in await _tag_ids(db, fields.tags):
        db.add(PostTag(post_id=post.id, tag_id=tag_id))
    for user in praised:
        assert user.id is not None
        db.add(PostPraised(post_id=post.id, user_id=user.id))


def _apply(post: Post, fields: PostFields, unit: OrgUnit) -> None:
    assert unit.id is not None
    post.kind, post.title, post.body = fields.kind, fields.title, fields.body
    post.body_html = render_markdown(fields.body)
    post.search_text = indexed_text(fields.title, fields.body)
    post.tag_names = "\t".join(fields.tags)
    post.unit_id = unit.id
    praise = fields.kind == PostKind.praise
    post.received_on = fields.received_on if praise else None
    post.channel = fields.channel if praise else None
    post.product = fields.product if praise else None
    post.category = None if praise else fields.category


async def create_post(db: AsyncSession, author: User, data: dict[str, Any]) -> Post:
    """Validate everything first, then write the post and its links in one transaction."""
    fields = validate_fields(data)
    unit = await _unit_for(db, author, fields.unit)
    praised = await _praised_users(db, fields.praised)
    confirmed = guard_personal_data(fields)
    assert author.id is not None
    now = utcnow()
    post = Post(
        kind=fields.kind,
        title="",
        body="",
        author_id=author.id,
        unit_id=unit.id or 0,
        status=fields.status,
        created_at=now,
        updated_at=now,
        published_at=now if fields.status == PostStatus.published else None,
    )
    _apply(post, fields, unit)
    db.add(post)
    await db.flush()
    await _write_links(db, post, fields, praised)
    await _flag_if_confirmed(db, post, confirmed)
    if fields.complaint is not None:  # head office's ledger, in the post's transaction
        await complaints.record_for_post(db, author, post, fields.complaint)
    if post.status == PostStatus.published:
        await integration_events.post_event(db, post, integration_events.Event.post_published)
    await db.commit()
    await db.refresh(post)
    if post.status == PostStatus.published:
        await _announce(post)
    return post


async def _announce(post: Post) -> None:
    """After the commit: live "N new posts" banners on every instance."""
    assert post.id is not None
    await events.post_created(post.id, post.kind, post.unit_id, post.author_id)


async def current_links(db: AsyncSession, post: Post) -> tuple[list[str], list[str], str]:
    praised = (
        await db.exec(
            select(User.code)
            .join(PostPraised, col(PostPraised.user_id) == User.id)
            .where(PostPraised.post_id == post.id)
            .order_by(col(User.code))
        )
    ).all()
    unit = await db.get(OrgUnit, post.unit_id)
    assert unit is not None
    return [t for t in post.tag_names.split("\t") if t], list(praised), unit.code


async def update_post(db: AsyncSession, author: User, post: Post, changes: dict[str, Any]) -> Post:
    """Apply a partial change; the merged post must pass every rule a new post must."""
    if changes.get("kind") not in (None, post.kind):
        raise InvalidInput.field("kind", _("The kind of a post cannot be changed."))
    if post.status == PostStatus.published and changes.get("status") == "draft":
        raise InvalidInput.field("status", _("A published post cannot go back to draft."))
    tags, praised_codes, unit_code = await current_links(db, post)
    merged = fields_of(post, tags, praised_codes, unit_code)
    if post.status not in (PostStatus.draft, PostStatus.published):
        merged["status"] = PostStatus.published
    if post.kind == PostKind.knowhow:
        merged = {k: v for k, v in merged.items() if k not in PRAISE_ONLY}
    else:
        merged.pop("category")
    merged.update(changes)
    fields = validate_fields(merged)
    unit = await _unit_for(db, author, fields.unit)
    praised = await _praised_users(db, fields.praised)
    confirmed = guard_personal_data(fields)
    text_changed = (fields.title, fields.body) != (post.title, post.body)
    _apply(post, fields, unit)
    now = utcnow()
    published_now = post.status == PostStatus.draft and fields.status == PostStatus.published
    if published_now:
        post.status = PostStatus.published
        # A draft appears in the feed when it is published, not when it was started.
        post.created_at = post.published_at = now
    elif text_changed and post.status != PostStatus.draft:
        post.edited_at = now
    post.updated_at = now
    db.add(post)
    await _write_links(db, post, fields, praised)
    # Saving again what head office already looked at (a tag changed) asks nobody again.
    await _flag_if_confirmed(db, post, confirmed and (text_changed or published_now))
    if published_now:
        await integration_events.post_event(db, post, integration_events.Event.post_published)
    await db.commit()
    await db.refresh(post)
    if published_now:
        await _announce(post)
    return post


async def delete_post(db: AsyncSession, post: Post) -> None:
    """Soft delete: the row stays (likes, KPI corrections), nobody sees it any more."""
    post.status = PostStatus.deleted
    post.updated_at = utcnow()
    db.add(post)
    assert post.id is not None
    await integration_events.post_withdrawn(db, post.id)  # the chat tools' copies go too
    await db.commit()
