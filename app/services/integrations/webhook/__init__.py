"""The generic webhook: the event as JSON, signed with the integration's secret."""

from app.services.integrations.webhook.transport import KIND

__all__ = ["KIND"]
