"""The kinds of integration, by name."""

from __future__ import annotations

from app.services.integrations.kinds import Kind
from app.services.integrations.lineworks import KIND as LINEWORKS
from app.services.integrations.slack import KIND as SLACK
from app.services.integrations.teams import KIND as TEAMS
from app.services.integrations.webhook import KIND as WEBHOOK

KINDS: dict[str, Kind] = {k.name: k for k in (WEBHOOK, SLACK, TEAMS, LINEWORKS)}
