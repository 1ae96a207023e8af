"""All tables, imported here so that alembic and `SQLModel.metadata` see every one."""

from app.models.auth import ApiToken, LoginThrottle, TokenScope, UserSession
from app.models.board import (
    Attachment,
    Channel,
    Comment,
    CommentStatus,
    Flag,
    FlagReason,
    KnowhowCategory,
    Like,
    Post,
    PostKind,
    PostPraised,
    PostStatus,
    PostTag,
    Product,
    Tag,
)
from app.models.org import ROLE_RANK, Locale, OrgUnit, Role, UnitKind, User

__all__ = [
    "ROLE_RANK",
    "ApiToken",
    "Attachment",
    "Channel",
    "Comment",
    "CommentStatus",
    "Flag",
    "FlagReason",
    "KnowhowCategory",
    "Like",
    "Locale",
    "LoginThrottle",
    "OrgUnit",
    "Post",
    "PostKind",
    "PostPraised",
    "PostStatus",
    "PostTag",
    "Product",
    "Role",
    "Tag",
    "TokenScope",
    "UnitKind",
    "User",
    "UserSession",
]
