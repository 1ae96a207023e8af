"""The current time, replaceable in tests ("a clock you control")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Tests: `set_clock(lambda: fixed)`; `set_clock(None)` restores the real clock."""
    global _now
    _now = fn or (lambda: datetime.now(UTC))
