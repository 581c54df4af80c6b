"""The one clock the services read, so tests can move time instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

_now: Callable[[], datetime] = timezone.now


def now() -> datetime:
    return _now()


def set_clock(func: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); ``None`` restores the real one."""
    global _now
    _now = func or timezone.now


def iso(at: datetime | None) -> str | None:
    """An instant as the API writes it: ISO 8601 in UTC with a ``Z`` (None stays None)."""
    return at.isoformat().replace("+00:00", "Z") if at else None
