"""The CSV imports of units and users that the admin page and the API share: which kind
of file is checked and imported by what, its columns, its size limit, dry run or import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User
from app.services.csvimport import ImportRejected, ImportReport, decode_csv
from app.services.people import units as unit_service
from app.services.people import user_import as user_service
from app.services.uploads import MiB

IMPORT_MAX = 2 * MiB  # a file of 3,000 users is about 200 kB
ImportKind = Literal["units", "users"]
Check = Callable[[AsyncSession, str], Awaitable[ImportReport]]
Import = Callable[[AsyncSession, str, User], Awaitable[ImportReport]]

# What each kind of file is checked and imported by.
IMPORTERS: dict[str, tuple[Check, Import]] = {
    "units": (unit_service.check_units, unit_service.import_units),
    "users": (user_service.check_users, user_service.import_users),
}
COLUMNS: dict[str, tuple[str, ...]] = {
    "units": unit_service.UNIT_COLUMNS,
    "users": user_service.USER_COLUMNS,
}


async def check_or_import(
    db: AsyncSession,
    kind: str,
    data: bytes,
    actor: User,
    *,
    dry_run: bool,
    encoding: str = "auto",
) -> ImportReport:
    """The dry run and the import run the same check; only the import writes (or refuses).
    `encoding` is the file's (csvimport.ENCODINGS; "auto" detects UTF-8 or CP932)."""
    check, run = IMPORTERS[kind]
    try:
        text = decode_csv(data, encoding)
        if dry_run:
            return await check(db, text)
        return await run(db, text, actor)
    except ImportRejected as exc:
        return exc.report
