"""A delivery's payload made ready to send: the webhook's JSON (with links, which only the
drainer can build) and the lines a person reads in a chat tool, in the site's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app import i18n, labels
from app.config import Settings
from app.i18n import _
from app.services.integrations.events import Event
from app.services.integrations.kinds import Message
from app.services.integrations.outbox import Claimed

PathFor = Callable[..., str]


def build(row: Claimed, settings: Settings, path_for: PathFor) -> Message:
    base = settings.base_url.rstrip("/")
    data: dict[str, Any] = {
        "id": row.id,
        "event": row.event,
        "occurred_at": row.payload["occurred_at"],
    }
    token = i18n.current_locale.set(settings.default_locale)
    try:
        if "bulletin" in row.payload:
            b = dict(row.payload["bulletin"])
            url = base + path_for("show_bulletin", bulletin_id=b["id"])
            data["bulletin"] = {
                "id": b["id"],
                "volume": b["volume"],
                "title": b["title"],
                "url": url,
            }
            headline = _("New bulletin Vol. %(n)s: %(title)s") % {
                "n": b["volume"],
                "title": b["title"],
            }
            return Message(row.id, row.event, data, headline, [], url, row.settings, row.secrets)
        p = dict(row.payload["post"])
        url = base + path_for("show_post", post_id=p["id"])
        if row.event == Event.post_withdrawn:
            data["post"] = {"id": p["id"], "url": url}
            headline = _("A post shared here is no longer shown on the board.")
            return Message(row.id, row.event, data, headline, [], url, row.settings, row.secrets)
        data["post"] = {
            "id": p["id"],
            "kind": p["kind"],
            "title": p["title"],
            "url": url,
            "unit": p["unit"],
            "author": p["author"],
            "featured": p["featured"],
        }
        if row.event == Event.post_featured:
            headline = _("Good practice (好取組): %(title)s") % {"title": p["title"]}
        else:
            headline = _("New post: %(title)s") % {"title": p["title"]}
        facts = [
            (_("Kind"), labels.kind_labels().get(p["kind"], p["kind"])),
            (_("Unit"), p["unit"]["name"]),
            (_("Author"), p["author"]["name"]),
        ]
        if p["featured"]:
            facts.append((_("Badge"), _("Good practice")))
        return Message(row.id, row.event, data, headline, facts, url, row.settings, row.secrets)
    finally:
        i18n.current_locale.reset(token)
