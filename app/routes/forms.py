"""Reading browser forms (urlencoded or multipart with files) the same way for every page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from app.services.attachments import DOCUMENT_MAX
from app.services.uploads import UploadedFile, read_multipart


@dataclass
class FormData:
    values: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    _parsed: Any = None

    def get(self, name: str, default: str = "") -> str:
        items = self.values.get(name)
        return items[-1] if items else default

    def getlist(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    async def aclose(self) -> None:
        if self._parsed is not None:
            await self._parsed.aclose()


async def read_form(request: Request) -> FormData:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        parsed = await read_multipart(request, max_file_bytes=DOCUMENT_MAX, max_files=10)
        return FormData(values=dict(parsed.fields), files=list(parsed.files), _parsed=parsed)
    form = await request.form()
    values: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    return FormData(values=values)
