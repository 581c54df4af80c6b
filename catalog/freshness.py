"""How old a record is, as the API and the workers see it: one helper for both."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


def fresh_window() -> timedelta:
    return timedelta(days=settings.CATALOG_FRESH_DAYS)


def expired_after() -> timedelta:
    return timedelta(days=settings.CATALOG_EXPIRED_DAYS)


def freshness_of(last_fetched: datetime | None, now: datetime) -> Freshness | None:
    """fresh under CATALOG_FRESH_DAYS, stale until CATALOG_EXPIRED_DAYS, expired after;
    ``None`` when there is no data."""
    if last_fetched is None:
        return None
    age = now - last_fetched
    if age < fresh_window():
        return Freshness.FRESH
    if age <= expired_after():
        return Freshness.STALE
    return Freshness.EXPIRED


def next_refresh_at(last_fetched: datetime | None, now: datetime) -> datetime:
    """When a record should next be refreshed: once it stops being fresh (now if missing)."""
    if last_fetched is None:
        return now
    return max(now, last_fetched + fresh_window())
