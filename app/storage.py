"""Where uploaded files live: a small interface and its local-folder implementation."""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Protocol

import anyio.to_thread
from fastapi import Depends

from app.config import get_settings
from app.services.errors import InsufficientStorage

# Keys are made by the app only (never from user input): "ab/cd/<32 hex>.<ext>".
_KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}(?:\.[a-z0-9]{1,8})?$")


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def new_key(extension: str) -> str:
    """A fresh random key, fanned out over two folder levels so no folder grows too big."""
    ext = extension.lower().lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"bad extension: {extension!r}")
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name[2:4]}/{name}.{ext}"


def check_key(key: str) -> str:
    """Refuse anything that is not a key this module made (no `..`, no absolute paths)."""
    if ".." in key or not _KEY_RE.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class Storage(Protocol):
    async def save(self, key: str, source_path: Path) -> None:
        """Copy the file at `source_path` to `key` (atomically: all or nothing)."""

    def path(self, key: str) -> Path:
        """A local path to serve the stored file from (for FileResponse)."""

    async def delete(self, key: str) -> None:
        """Remove the stored file; a missing file is not an error."""


class LocalStorage:
    """Files under one folder (UPLOAD_DIR); a shared volume when several instances run."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        target = (self.root / check_key(key)).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"invalid storage key: {key!r}")
        return target

    async def save(self, key: str, source_path: Path) -> None:
        await anyio.to_thread.run_sync(self._save, self.path(key), source_path)

    @staticmethod
    def _save(target: Path, source_path: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copy to a temporary name next to the target, then rename: readers never see a
        # half-written file, and a failed copy leaves nothing behind.
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, source_path.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.replace(tmp_name, target)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if disk_full(exc):
                raise InsufficientStorage() from exc
            raise

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, self.path(key))

    @staticmethod
    def _delete(target: Path) -> None:
        target.unlink(missing_ok=True)


@dataclass(frozen=True)
class DiskSpace:
    total: int
    free: int

    @property
    def free_percent(self) -> float:
        return 100 * self.free / self.total if self.total else 0.0


def upload_disk_space() -> DiskSpace | None:
    """Free space where uploads are stored (None while the folder does not exist yet)."""
    try:
        usage = shutil.disk_usage(get_settings().upload_dir)
    except OSError:
        return None
    return DiskSpace(usage.total, usage.free)


def get_storage() -> Storage:
    return LocalStorage(get_settings().upload_dir)


StorageDep = Annotated[Storage, Depends(get_storage)]
