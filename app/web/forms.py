"""Reading browser forms (urlencoded or multipart with files) the same way for every page,
and turning them into a resource's input model (services/inputs.py) as the API reads it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args, get_origin

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.services.attachments import ATTACHMENTS_PER_POST, DOCUMENT_MAX
from app.services.errors import InvalidInput
from app.services.uploads import UploadedFile, read_multipart

M = TypeVar("M", bound=BaseModel)


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
        parsed = await read_multipart(
            request, max_file_bytes=DOCUMENT_MAX, max_files=ATTACHMENTS_PER_POST
        )
        return FormData(values=dict(parsed.fields), files=list(parsed.files), _parsed=parsed)
    form = await request.form()
    values: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(key, []).append(value)
    return FormData(values=values)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arg) is list for arg in get_args(annotation))


def form_input(
    form: FormData, model: type[BaseModel], *, skip: Collection[str] = ()
) -> dict[str, Any]:
    """What the user typed into the fields of `model` (the resource's input model, which the
    JSON body reads too), kept as typed to show again with the errors: the last value of a
    field ("" when blank or absent), every non-blank value of a list field.
    Field names and their list-ness come from the model, so a field is never listed twice."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        if _is_list(info.annotation):
            values[name] = [v for v in form.getlist(name) if v.strip()]
        else:
            values[name] = form.get(name)
    return values


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The fields the form gave, as a JSON body would send them (blank ones left out)."""
    return {k: v for k, v in values.items() if v not in ("", None)}


def form_model(model: type[M], data: dict[str, Any]) -> M:
    """The form's data as the input model, read as FastAPI reads a JSON body (so a form
    refuses what the API refuses); otherwise InvalidInput, one message per field in the
    user's language, for the page to show next to what was typed."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


async def read_model(request: Request, model: type[M], *extra: str) -> tuple[M, dict[str, str]]:
    """A form of `model`'s fields as that model (what was typed is in it, to show again with
    the service's errors), and the values of the `extra` fields that are not input (a
    form's idempotency key, say)."""
    form = await read_form(request)
    try:
        return form_model(model, form_input(form, model)), {n: form.get(n) for n in extra}
    finally:
        await form.aclose()
