"""LINE WORKS: a bot posts to a channel (talk room) through the LINE WORKS API 2.0."""

from app.services.integrations.lineworks.transport import KIND

__all__ = ["KIND"]
