"""The caller's Web Push subscriptions over JSON (`/api/v1/me/push-subscriptions`).

A browser saves its `PushSubscription.toJSON()` here with the browser session (cookie and
`X-CSRF-Token`): a Bearer token gets 403 on POST, so that a leaked token cannot send the
user's notifications to an address of its choosing. Listing and removing work with a
token too."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.deps import BrowserSession, CurrentUser, SessionDep, SettingsDep
from app.inputs import PathId
from app.services.push import subscriptions as subscription_service
from app.services.push.keys import public_key
from app.services.push.subscriptions import PushSubscriptionIn, SubscriptionView

router = APIRouter(tags=["push"])

SESSION_ONLY = "Needs the browser session (cookie and `X-CSRF-Token`): a Bearer token gets 403."


class PushSubscriptionPublic(BaseModel):
    id: int
    endpoint: str
    device: str
    created_at: datetime
    last_sent_at: datetime | None = Field(description="When a push last reached it.")

    @classmethod
    def of(cls, view: SubscriptionView) -> PushSubscriptionPublic:
        return cls.model_validate(view, from_attributes=True)


class PushSubscriptionList(BaseModel):
    items: list[PushSubscriptionPublic]
    vapid_public_key: str | None = Field(
        description="The `applicationServerKey` to subscribe with (base64url); `null` when "
        "push is not set up on this server."
    )


@router.get("/me/push-subscriptions", name="api_list_push_subscriptions")
async def list_push_subscriptions(
    db: SessionDep, user: CurrentUser, settings: SettingsDep
) -> PushSubscriptionList:
    """Your browsers' push subscriptions, newest first, and the key to subscribe with."""
    key = public_key(settings.vapid_private_key) if settings.vapid_private_key else None
    items = await subscription_service.list_for(db, user)
    return PushSubscriptionList(
        items=[PushSubscriptionPublic.of(v) for v in items], vapid_public_key=key
    )


@router.post(
    "/me/push-subscriptions",
    name="api_add_push_subscription",
    status_code=201,
    description="Save this browser's push subscription (the JSON of "
    "`PushSubscription.toJSON()`, optionally with a `device` name). Saving the same "
    "endpoint again updates it (and moves it to you if another user had it). "
    f"At most {subscription_service.MAX_PER_USER} per user: the oldest is dropped. "
    f"{SESSION_ONLY}",
    responses={403: {"description": SESSION_ONLY}},
)
async def add_push_subscription(
    db: SessionDep, auth: BrowserSession, body: PushSubscriptionIn
) -> PushSubscriptionPublic:
    view = await subscription_service.subscribe(db, auth.user, body, on_terminal=auth.terminal)
    return PushSubscriptionPublic.of(view)


@router.delete(
    "/me/push-subscriptions",
    name="api_remove_push_subscription_by_endpoint",
    status_code=204,
    responses={404: {"description": "None of your subscriptions has this endpoint."}},
)
async def remove_push_subscription_by_endpoint(
    db: SessionDep,
    user: CurrentUser,
    endpoint: str = Query(max_length=subscription_service.ENDPOINT_MAX),
) -> Response:
    """Remove the subscription with this endpoint (what a browser knows when it unsubscribes)."""
    await subscription_service.unsubscribe(db, user, endpoint=endpoint)
    return Response(status_code=204)


@router.delete(
    "/me/push-subscriptions/{subscription_id}",
    name="api_remove_push_subscription",
    status_code=204,
    responses={404: {"description": "Not one of your subscriptions."}},
)
async def remove_push_subscription(
    db: SessionDep, user: CurrentUser, subscription_id: PathId
) -> Response:
    """Remove one of your push subscriptions; it gets no more pushes."""
    await subscription_service.unsubscribe(db, user, subscription_id=subscription_id)
    return Response(status_code=204)
