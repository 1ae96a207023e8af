"""Slack: a bot posts to one channel through the Web API (slack_sdk)."""

from app.services.integrations.slack.transport import KIND

__all__ = ["KIND"]
