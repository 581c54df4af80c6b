"""How long a marketplace asks us to wait: ``Retry-After``, and BrickLink's daily window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, default: float, cap: float) -> float:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    A missing or malformed header gives ``default``; every answer is within ``[0, cap]``.
    """
    seconds: float | None = None
    if value:
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = (when - datetime.now(UTC)).total_seconds()
        if seconds is not None and seconds != seconds:  # NaN
            seconds = None
    if seconds is None:
        seconds = default
    return max(0.0, min(seconds, cap))


def seconds_until_next_utc_midnight(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()
