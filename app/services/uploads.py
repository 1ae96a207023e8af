"""Streaming multipart parsing into temp files, with size limits enforced while reading."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread
from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.i18n import _
from app.inputs import allow_body, text_ok, text_refused
from app.services.errors import (
    BadRequest,
    InsufficientStorage,
    InvalidInput,
    TooLarge,
    UnsupportedMedia,
)
from app.storage import disk_full

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MiB = 1024 * 1024
# Part headers, boundaries and the text fields share this much beyond the files themselves.
BODY_OVERHEAD = 1 * MiB
TEMP_PREFIX = "arigato-upload-"


@dataclass
class UploadedFile:
    field_name: str
    filename: str  # as the client sent it: untrusted, sanitise before showing or storing
    declared_type: str  # as the client sent it: untrusted, never used to decide the type
    path: Path  # a temp file owned by the ParsedForm; gone after cleanup()
    size: int


@dataclass
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def file(self, name: str) -> UploadedFile | None:
        return next((f for f in self.files if f.field_name == name), None)

    def cleanup(self) -> None:
        """Remove the temp files (idempotent)."""
        _discard([f.path for f in self.files])

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.cleanup)


def _discard(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def body_limit(max_files: int, max_file_bytes: int) -> int:
    return max_files * max_file_bytes + BODY_OVERHEAD


def too_large(max_file_bytes: int) -> TooLarge:
    return TooLarge(
        _("The file is too large (at most %(size)s MB).") % {"size": _megabytes(max_file_bytes)},
    )


def _megabytes(size: int) -> str:
    return f"{size / MiB:g}"


class _TempWriter:
    """One temp file being written; every call runs in a worker thread."""

    def __init__(self, tmp_dir: Path | None) -> None:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=tmp_dir)
        self.path = Path(name)
        self.fh: BinaryIO = os.fdopen(fd, "wb")

    def write(self, chunks: list[bytes]) -> None:
        with _full_disk_is_insufficient_storage():
            self.fh.writelines(chunks)

    def close(self) -> None:
        with _full_disk_is_insufficient_storage():
            self.fh.close()


@contextmanager
def _full_disk_is_insufficient_storage() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if disk_full(exc):
            raise InsufficientStorage() from exc
        raise


@dataclass
class _Part:
    name: str
    filename: str | None  # None for a text field
    declared_type: str
    size: int = 0
    text: bytearray = field(default_factory=bytearray)
    writer: _TempWriter | None = None
    skip: bool = False  # a file input left empty: no filename, nothing to keep


class _Reader:
    def __init__(
        self,
        *,
        max_file_bytes: int,
        max_files: int,
        max_field_bytes: int,
        max_fields: int,
        tmp_dir: Path | None,
    ) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.max_field_bytes = max_field_bytes
        self.max_fields = max_fields
        self.tmp_dir = tmp_dir
        self.form = ParsedForm()
        self.temp_paths: list[Path] = []
        # The parser's callbacks are synchronous: they only record events, which are then
        # handled (with the file writes in a worker thread) after each chunk.
        self.events: list[tuple[str, bytes]] = []
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.part: _Part | None = None
        self.field_count = 0

    def callbacks(self) -> MultipartCallbacks:
        def on_part_begin() -> None:
            self.events.append(("begin", b""))

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self.header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self.header_value += data[start:end]

        def on_header_end() -> None:
            self.headers[bytes(self.header_field).strip().lower()] = bytes(self.header_value)
            self.header_field.clear()
            self.header_value.clear()

        def on_headers_finished() -> None:
            # Freeze this part's headers in the event stream.
            self.events.append(("disposition", self.headers.get(b"content-disposition", b"")))
            self.events.append(("type", self.headers.get(b"content-type", b"")))
            self.headers = {}

        def on_part_data(data: bytes, start: int, end: int) -> None:
            self.events.append(("data", data[start:end]))

        def on_part_end() -> None:
            self.events.append(("end", b""))

        return {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        }

    async def drain(self) -> None:
        events, self.events = self.events, []
        pending: list[bytes] = []  # file data of the current part, written in one go
        disposition = b""
        for kind, data in events:
            if kind == "data":
                if self.part is None:
                    continue
                if self.part.filename is None:
                    self._add_text(data)
                elif not self.part.skip:
                    self.part.size += len(data)
                    if self.part.size > self.max_file_bytes:
                        raise too_large(self.max_file_bytes)
                    pending.append(data)
                continue
            if pending:
                await self._flush(pending)
                pending = []
            if kind == "disposition":
                disposition = data
            elif kind == "type":
                await self._start_part(disposition, data)
            elif kind == "end":
                await self._finish_part()
        if pending:
            await self._flush(pending)

    def _add_text(self, data: bytes) -> None:
        assert self.part is not None
        self.part.text += data
        if len(self.part.text) > self.max_field_bytes:
            raise TooLarge(
                _("A form field is too long (at most %(size)s bytes).")
                % {"size": self.max_field_bytes},
            )

    async def _flush(self, chunks: list[bytes]) -> None:
        assert self.part is not None and self.part.writer is not None
        await anyio.to_thread.run_sync(self.part.writer.write, chunks)

    async def _start_part(self, disposition: bytes, content_type: bytes) -> None:
        kind, options = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in options:
            raise BadRequest(_("The upload is malformed."))
        name = options[b"name"].decode("utf-8", errors="replace")
        if b"filename" not in options:
            self.field_count += 1
            if self.field_count > self.max_fields:
                raise TooLarge(_("The form has too many fields."))
            self.part = _Part(name=name, filename=None, declared_type="")
            return
        filename = options[b"filename"].decode("utf-8", errors="replace")
        declared = content_type.decode("latin-1").strip()
        self.part = _Part(name=name, filename=filename, declared_type=declared)
        if not filename:
            self.part.skip = True
            return
        if len(self.form.files) >= self.max_files:
            raise TooLarge(
                _("Too many files in one upload (at most %(count)s).") % {"count": self.max_files},
            )
        writer = await anyio.to_thread.run_sync(_TempWriter, self.tmp_dir)
        self.temp_paths.append(writer.path)
        self.part.writer = writer

    async def _finish_part(self) -> None:
        part, self.part = self.part, None
        if part is None:
            return
        if part.filename is None:
            value = part.text.decode("utf-8", errors="replace")
            if not text_ok(value):
                raise text_refused(part.name)
            self.form.fields.setdefault(part.name, []).append(value)
            return
        if part.writer is None:
            return
        await anyio.to_thread.run_sync(part.writer.close)
        self.form.files.append(
            UploadedFile(
                field_name=part.name,
                filename=part.filename,
                declared_type=part.declared_type,
                path=part.writer.path,
                size=part.size,
            )
        )

    def abort(self) -> None:
        """Close what is open and remove every temp file made so far (synchronous on purpose:
        it also runs when the request is cancelled)."""
        # A close that fails (a full disk again) must not keep the temp files.
        with suppress(Exception):
            if self.part is not None and self.part.writer is not None:
                self.part.writer.close()
        _discard(self.temp_paths)


async def read_multipart(
    request: Request,
    *,
    max_file_bytes: int,
    max_files: int = 10,
    max_field_bytes: int = 64_000,
    max_fields: int = 50,
    tmp_dir: Path | None = None,
) -> ParsedForm:
    """Parse a multipart/form-data body from the request stream, files to temp files on disk.

    Reading stops with 413 as soon as one file passes `max_file_bytes` (or the body passes
    what `max_files` such files could need); nothing is kept then. File inputs left empty are
    skipped. The caller owns the temp files and must call `cleanup()`/`aclose()`.
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise UnsupportedMedia(_("The upload must be sent as multipart/form-data."))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest(_("The upload is malformed."))
    limit = body_limit(max_files, max_file_bytes)
    allow_body(request.scope, limit)  # this reader streams and caps the body itself
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise BadRequest(_("The upload is malformed.")) from None
        if declared_size > limit:
            raise too_large(max_file_bytes)

    reader = _Reader(
        max_file_bytes=max_file_bytes,
        max_files=max_files,
        max_field_bytes=max_field_bytes,
        max_fields=max_fields,
        tmp_dir=tmp_dir,
    )
    try:
        parser = MultipartParser(boundary, reader.callbacks(), max_header_count=8)
    except Exception:
        raise BadRequest(_("The upload is malformed.")) from None
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(max_file_bytes)
            parser.write(chunk)
            await reader.drain()
        parser.finalize()
        await reader.drain()
        if reader.part is not None:  # the body ended in the middle of a part
            raise BadRequest(_("The upload is malformed."))
    except MultipartParseError:
        reader.abort()
        raise BadRequest(_("The upload is malformed.")) from None
    except BaseException:
        reader.abort()
        raise
    return reader.form


# OpenAPI request bodies: one file in the multipart field `file` (uploads), and the same or
# the file as a text/csv body (imports, see read_csv_body).
_FILE_FIELD: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}},
    }
}
FILE_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": _FILE_FIELD}}
}
CSV_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": _FILE_FIELD,
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


async def read_csv_body(request: Request, max_bytes: int) -> bytes:
    """The CSV file of a multipart form (field `file`) or a text/csv body; 413 as soon as it
    passes `max_bytes` while reading, 415 for any other content type."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await read_multipart(request, max_file_bytes=max_bytes, max_files=1)
        try:
            upload = form.file("file")
            if upload is None:
                raise InvalidInput(
                    [{"loc": ["body", "file"], "msg": _("Choose a CSV file."), "type": "missing"}],
                )
            return upload.path.read_bytes()
        finally:
            await form.aclose()
    if ctype.startswith(("text/csv", "text/plain", "application/csv")):
        allow_body(request.scope, max_bytes)  # capped while reading, below
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large(max_bytes)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > max_bytes:
                raise too_large(max_bytes)
        return bytes(data)
    raise UnsupportedMedia(_("Send the CSV file as multipart/form-data or text/csv."))
