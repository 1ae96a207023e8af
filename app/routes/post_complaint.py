"""The composer's question about a complaint inside a thanks (docs/compliance.md, "Complaints
inside praise"): when a new thanks post's text shows a sign of dissatisfaction
(services/complaint_cues.py), the form comes back asking whether the customer's voice
includes a complaint, with everything typed kept; "yes" sends the complaint with the post
(`complaint` of the input model, as the API does), "no" posts without. No script needed;
`/posts/composer/complaint-check` lets the form ask while the author types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.deps import CurrentUser
from app.models import ComplaintCategory, PostKind
from app.services import complaint_cues
from app.templating import render
from app.web.forms import FormData, read_form

router = APIRouter(include_in_schema=False)

ANSWER = "complaint_answer"  # "yes" | "no"
CATEGORY = "complaint_category"
SUMMARY = "complaint_summary"
YES, NO = "yes", "no"


def read_answer(form: FormData, values: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Keep the question's fields with what was typed; a "yes" on a thanks puts the complaint
    into `data`. Returns the cue words when the question is still to be answered."""
    for name in (ANSWER, CATEGORY, SUMMARY):
        values[name] = form.get(name)
    if values.get("kind") != PostKind.praise:
        return []
    if values[ANSWER] == YES:
        data["complaint"] = {
            "category": values[CATEGORY] or ComplaintCategory.other.value,
            "summary": values[SUMMARY],
        }
    if values[ANSWER] in (YES, NO):
        return []
    return complaint_cues.cue_words(values.get("title") or "", values.get("body") or "")


def question(values: dict[str, Any], cues: list[str]) -> dict[str, Any] | None:
    """What the composer's question shows: while it is asked (`cues`), and once answered (so
    the answer stays through another round, e.g. the personal-data question)."""
    answer = values.get(ANSWER) or ""
    if not cues and answer not in (YES, NO):
        return None
    summary = values.get(SUMMARY)
    if not summary and not answer:  # first asked: offer the sentences that made it ask
        summary = complaint_cues.cue_sentences(values.get("body") or "")
    return {
        "asked": bool(cues),
        "cues": cues,
        "answer": answer,
        "category": values.get(CATEGORY) or ComplaintCategory.other.value,
        "summary": summary or "",
    }


@router.post("/posts/composer/complaint-check", name="complaint_check")
async def complaint_check(request: Request, user: CurrentUser) -> Response:
    """While the author types (HTMX): the question, when the text so far shows a cue and it
    has not been answered; empty otherwise. The submit asks anyway, with or without this."""
    form = await read_form(request)
    try:
        values: dict[str, Any] = {name: form.get(name) for name in ("kind", "title", "body")}
        cues = read_answer(form, values, {})
    finally:
        await form.aclose()
    q = question(values, cues)
    if q is not None:
        q["asked"] = False  # typing goes on: the question must not take the focus
    return render(request, "posts/_complaint_question.html", {"q": q, "errors": {}})
