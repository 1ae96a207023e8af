"""Posts, likes, comments and flags over JSON (SPEC §4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel

from app.api.changes import TO_EXPORT, UpdatedSince, to_export
from app.api.docs import conflict
from app.api.schemas import (
    AttachmentPublic,
    CommentPublic,
    FlagPublic,
    Liker,
    LikeState,
    Page,
    PersonRef,
    PostPublic,
    ReactionCounts,
    ReactionState,
    Reactor,
    UnitRef,
)
from app.deps import CurrentUser, SessionDep
from app.inputs import Day, PathId
from app.models import Comment, IdempotencyKey, ImageCheck, Post, ReactionKind
from app.permissions import (
    get_comment_for_edit,
    get_comment_for_view,
    get_post_for_edit,
    get_post_for_interaction,
    get_post_for_view,
    sees_hidden_comments,
)
from app.services import comments as comment_service
from app.services import feed, flags, idempotency, likes, reactions
from app.services import posts as post_service
from app.services.comments import CommentView
from app.services.feed import FeedFilters, PostCard
from app.services.inputs import CommentIn, FlagIn, PostCreate, PostUpdate

router = APIRouter(tags=["posts"])


def post_public(request: Request, card: PostCard) -> PostPublic:
    praise = card.kind == "praise"
    return PostPublic(
        id=card.id,
        kind=card.kind,
        title=card.title,
        body=card.body,
        body_html=card.body_html,
        status=card.status,
        author=PersonRef(code=card.author_code, name=card.author_name),
        unit=UnitRef(code=card.unit_code, name=card.unit_name),
        tags=card.tags,
        featured=card.featured,
        feature_note=card.feature_note,
        like_count=card.like_count,
        comment_count=card.comment_count,
        liked=card.liked,
        created_at=card.created_at,
        edited_at=card.edited_at,
        received_on=card.received_on if praise else None,
        channel=card.channel,
        product=card.product,
        praised=[PersonRef(code=c, name=n) for c, n in card.praised],
        category=card.category,
        attachments=[
            AttachmentPublic(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                url=str(request.app.url_path_for("attachment_file", attachment_id=a.id)),
                thumbnail_url=str(
                    request.app.url_path_for("attachment_thumbnail", attachment_id=a.id)
                )
                if a.has_thumbnail
                else None,
                image_check=ImageCheck(a.image_check) if a.image_check else None,
            )
            for a in card.attachments
        ],
        hidden_reason=card.hidden_reason if card.status == "hidden" else None,
        reactions=ReactionCounts(**card.reactions),
        my_reactions=[ReactionKind(k) for k in card.my_reactions],
    )


def comment_public(c: CommentView) -> CommentPublic:
    return CommentPublic(
        id=c.id,
        post_id=c.post_id,
        author=PersonRef(code=c.author_code, name=c.author_name),
        body=c.body,
        body_html=c.body_html,
        status=c.status,
        created_at=c.created_at,
        edited_at=c.edited_at,
    )


async def _card(request: Request, db: SessionDep, user: CurrentUser, post_id: int) -> PostPublic:
    card = await feed.get_card(db, user, post_id)
    assert card is not None
    return post_public(request, card)


@router.get(
    "/posts",
    name="api_list_posts",
    response_model=Page[PostPublic],
    responses=TO_EXPORT,  # type: ignore[arg-type]
)
async def list_posts(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    kind: Literal["praise", "knowhow"] | None = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    featured: bool | None = None,
    author: Annotated[str | None, Query(max_length=32)] = None,
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    updated_since: UpdatedSince = None,
) -> Any:
    if updated_since is not None:
        return to_export(request, "post", updated_since, cursor, limit)
    filters = FeedFilters(kind, unit, tag, q, featured, author, date_from, date_to)
    filters, _unit_label = await feed.with_unit_found(db, filters)  # an unknown unit: 422
    cards, next_cursor = await feed.list_posts(db, user, filters, cursor=cursor, limit=limit)
    return Page(items=[post_public(request, c) for c in cards], next_cursor=next_cursor)


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=300,
        description="Send the same key again (within 24 h) to get the first answer, not a "
        "second post: for a retry after a lost answer.",
    ),
]


async def _claim(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    raw_key: str | None,
    content: Any,
    creates: type[Any],
) -> idempotency.Answer | idempotency.Made | IdempotencyKey | None:
    """None without a key; else the first answer to replay, the row made by a first request
    whose answer was lost, or the key claimed for this request."""
    key = idempotency.parse_key(raw_key)
    if key is None:
        return None
    assert user.id is not None
    fp = idempotency.fingerprint(request.method, request.url.path, content)
    return await idempotency.begin(db, user.id, key, fp, creates)


async def _answer(db: SessionDep, key_id: int | None, public: BaseModel) -> Response:
    answer = idempotency.Answer.created(public.model_dump_json())
    if key_id is not None:
        await idempotency.remember(db, key_id, answer)
    return answer.response()


@router.post("/posts", name="api_create_post", status_code=201, response_model=PostPublic)
async def create_post(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    body: PostCreate,
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    data = body.model_dump(exclude_unset=True)
    content = body.model_dump(mode="json")
    claimed = await _claim(request, db, user, idempotency_key, content, Post)
    if isinstance(claimed, idempotency.Answer):
        return claimed.response()
    if isinstance(claimed, idempotency.Made):
        card = await _card(request, db, user, claimed.resource_id)
        return await _answer(db, claimed.key_id, card)
    post = await post_service.create_post(db, user, data)
    assert post.id is not None
    key_id = claimed.id if claimed is not None else None
    return await _answer(db, key_id, await _card(request, db, user, post.id))


@router.get("/posts/{post_id}", name="api_get_post")
async def get_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId
) -> PostPublic:
    await get_post_for_view(db, user, post_id)
    return await _card(request, db, user, post_id)


@router.patch("/posts/{post_id}", name="api_update_post")
async def update_post(
    request: Request, db: SessionDep, user: CurrentUser, post_id: PathId, body: PostUpdate
) -> PostPublic:
    post = await get_post_for_edit(db, user, post_id)
    await post_service.update_post(db, user, post, body.model_dump(exclude_unset=True))
    return await _card(request, db, user, post_id)


@router.delete("/posts/{post_id}", name="api_delete_post", status_code=204)
async def delete_post(db: SessionDep, user: CurrentUser, post_id: PathId) -> Response:
    post = await get_post_for_edit(db, user, post_id)
    await post_service.delete_post(db, post)
    return Response(status_code=204)


@router.put(
    "/posts/{post_id}/like", name="api_like_post", responses=conflict("The post is not published.")
)
async def like_post(db: SessionDep, user: CurrentUser, post_id: PathId) -> LikeState:
    post = await get_post_for_interaction(db, user, post_id)
    liked, count = await likes.set_like(db, user, post, True)
    return LikeState(liked=liked, like_count=count)


@router.delete("/posts/{post_id}/like", name="api_unlike_post")
async def unlike_post(db: SessionDep, user: CurrentUser, post_id: PathId) -> LikeState:
    post = await get_post_for_view(db, user, post_id)
    liked, count = await likes.set_like(db, user, post, False)
    return LikeState(liked=liked, like_count=count)


@router.get("/posts/{post_id}/likes", name="api_post_likes")
async def post_likes(db: SessionDep, user: CurrentUser, post_id: PathId) -> Page[Liker]:
    await get_post_for_view(db, user, post_id)
    rows = await feed.likers(db, post_id)
    return Page(items=[Liker(code=c, name=n, unit=u) for c, n, u in rows])


@router.put(
    "/posts/{post_id}/reactions/{kind}",
    name="api_react_to_post",
    responses=conflict("The post is not published."),
)
async def react_to_post(
    db: SessionDep, user: CurrentUser, post_id: PathId, kind: ReactionKind
) -> ReactionState:
    """Give one reaction (スタンプ); giving it again changes nothing. Same rules as a like."""
    post = await get_post_for_interaction(db, user, post_id)
    reacted, count = await reactions.set_reaction(db, user, post, kind, True)
    return ReactionState(kind=kind, reacted=reacted, count=count)


@router.delete("/posts/{post_id}/reactions/{kind}", name="api_unreact_to_post")
async def unreact_to_post(
    db: SessionDep, user: CurrentUser, post_id: PathId, kind: ReactionKind
) -> ReactionState:
    """Take a reaction back; taking it back again changes nothing."""
    post = await get_post_for_view(db, user, post_id)
    reacted, count = await reactions.set_reaction(db, user, post, kind, False)
    return ReactionState(kind=kind, reacted=reacted, count=count)


@router.get("/posts/{post_id}/reactions", name="api_post_reactors")
async def post_reactors(db: SessionDep, user: CurrentUser, post_id: PathId) -> Page[Reactor]:
    """Who gave which reaction, kind by kind, most recent first."""
    await get_post_for_view(db, user, post_id)
    by_kind = await reactions.reactors(db, post_id)
    return Page(
        items=[
            Reactor(kind=ReactionKind(kind), code=r.code, name=r.name, unit=r.unit)
            for kind, people in by_kind.items()
            for r in people
        ]
    )


@router.get("/posts/{post_id}/comments", name="api_list_comments")
async def list_comments(db: SessionDep, user: CurrentUser, post_id: PathId) -> Page[CommentPublic]:
    await get_post_for_view(db, user, post_id)
    rows = await comment_service.list_comments(
        db, user, post_id, include_hidden=await sees_hidden_comments(db, user, post_id)
    )
    return Page(items=[comment_public(c) for c in rows])


@router.post(
    "/posts/{post_id}/comments",
    name="api_add_comment",
    status_code=201,
    response_model=CommentPublic,
    responses=conflict("The post is not published."),
)
async def add_comment(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    post_id: PathId,
    body: CommentIn,
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    post = await get_post_for_interaction(db, user, post_id)
    content = body.model_dump(mode="json")
    claimed = await _claim(request, db, user, idempotency_key, content, Comment)
    if isinstance(claimed, idempotency.Answer):
        return claimed.response()
    if isinstance(claimed, idempotency.Made):
        made = comment_public(await comment_service.comment_view(db, claimed.resource_id))
        return await _answer(db, claimed.key_id, made)
    comment = await comment_service.add_comment(db, user, post, body.body)
    assert comment.id is not None
    public = comment_public(await comment_service.comment_view(db, comment.id))
    return await _answer(db, claimed.id if claimed is not None else None, public)


@router.patch("/comments/{comment_id}", name="api_edit_comment")
async def edit_comment(
    db: SessionDep, user: CurrentUser, comment_id: PathId, body: CommentIn
) -> CommentPublic:
    comment = await get_comment_for_edit(db, user, comment_id)
    await comment_service.edit_comment(db, comment, body.body)
    return comment_public(await comment_service.comment_view(db, comment_id))


@router.delete("/comments/{comment_id}", name="api_delete_comment", status_code=204)
async def delete_comment(db: SessionDep, user: CurrentUser, comment_id: PathId) -> Response:
    comment = await get_comment_for_edit(db, user, comment_id)
    await comment_service.delete_comment(db, comment)
    return Response(status_code=204)


def _flag_public(row: flags.Flag) -> FlagPublic:
    assert row.id is not None
    return FlagPublic(
        id=row.id, target=row.target, reason=row.reason, note=row.note, created_at=row.created_at
    )


@router.post(
    "/posts/{post_id}/flags",
    name="api_flag_post",
    status_code=201,
    responses=conflict("Already reported by you, or the post is not published."),
)
async def flag_post(db: SessionDep, user: CurrentUser, post_id: PathId, body: FlagIn) -> FlagPublic:
    post = await get_post_for_interaction(db, user, post_id)
    return _flag_public(await flags.flag(db, user, post, None, body.reason, body.note))


@router.post(
    "/comments/{comment_id}/flags",
    name="api_flag_comment",
    status_code=201,
    responses=conflict("Already reported by you, or the post is not published."),
)
async def flag_comment(
    db: SessionDep, user: CurrentUser, comment_id: PathId, body: FlagIn
) -> FlagPublic:
    comment = await get_comment_for_view(db, user, comment_id)
    post = await get_post_for_interaction(db, user, comment.post_id)
    return _flag_public(await flags.flag(db, user, post, comment, body.reason, body.note))
