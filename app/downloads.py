"""Headers of a file download: the one Content-Disposition writer (RFC 6266 with an ASCII
fallback and the real name as RFC 5987 `filename*`), and no-store for generated exports."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

Disposition = Literal["attachment", "inline"]


def ascii_fallback(filename: str) -> str:
    """The name for clients that ignore `filename*`: printable ASCII, no quote or escape."""
    return "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%;' else "_" for ch in filename)


def content_disposition(
    filename: str, disposition: Disposition = "attachment", fallback: str | None = None
) -> str:
    plain = ascii_fallback(filename if fallback is None else fallback)
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def export_headers(filename: str, fallback: str | None = None) -> dict[str, str]:
    """A generated export (CSV, XLSX): saved as a file, never kept by a cache."""
    return {
        "Content-Disposition": content_disposition(filename, fallback=fallback),
        "Cache-Control": "no-store",
    }
