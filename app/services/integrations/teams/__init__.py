"""Microsoft Teams: a Workflows ("When a Teams webhook request is received") webhook that
posts an Adaptive Card to a channel."""

from app.services.integrations.teams.transport import KIND

__all__ = ["KIND"]
