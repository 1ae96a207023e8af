"""Issuing API tokens for several users at once (the CLI), all or nothing."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User
from app.services.auth import issue_token


async def issue_for_codes(
    db: AsyncSession, codes: tuple[str, ...], *, scope: str, days: int | None, name: str
) -> list[tuple[str, str]]:
    found = {
        u.code: u for u in (await db.exec(select(User).where(col(User.code).in_(codes)))).all()
    }
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValueError(f"unknown user(s): {', '.join(missing)}; no token issued")
    inactive = [c for c in codes if not found[c].active]
    if inactive:
        raise ValueError(f"inactive user(s): {', '.join(inactive)}; no token issued")
    return [
        (code, (await issue_token(db, found[code], name=name, scope=scope, days=days))[1])
        for code in codes
    ]
