"""The API's read of a resource: cache-first from PostgreSQL, never waiting on BrickLink
(except ``?wait``) and never failing because BrickLink is down.

Every read answers the status envelope of ``docs/api-v1.md``. Reading has an idempotent side
effect: missing or expired data enqueues a HIGH refresh, stale data a NORMAL one (both
deduplicated), and the envelope reflects that enqueue. The serialized envelope of fresh data
with no refresh under way is kept briefly in a shared cache, dropped when a refresh is
enqueued or lands.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches

from catalog.domain import Resource, read_cache_key
from catalog.freshness import Freshness, fresh_window, freshness_of
from catalog.models import ACTIVE_STATUSES, Priority
from catalog.selectors import (
    RefreshState,
    part_missing,
    refresh_active,
    refresh_state,
    resource_data,
)
from core import clock
from core.metrics import CATALOG_CACHE, LAST_KNOWN_GOOD_SERVED

from .enqueue import refresh_enqueue, refresh_hurry


class PartNotFound(Exception):
    """BrickLink confirmed the part does not exist, recently enough to trust it."""


def _check_not_missing(no: str, now: datetime) -> None:
    if part_missing(no, now):
        raise PartNotFound(no)


def _envelope(resource: Resource, now: datetime) -> tuple[dict[str, Any], datetime | None]:
    # The job is read before the data: a refresh commits its data and its "succeeded" in one
    # transaction, so a job seen finished means its data is visible to the read that follows.
    # The other order lets a refresh land in between and the read enqueue a second one.
    job = refresh_state(resource)
    data, last_fetched = resource_data(resource)
    freshness = freshness_of(last_fetched, now)
    if job.status is None:
        if freshness in (None, Freshness.EXPIRED):
            enqueued = refresh_enqueue(resource=resource, priority=Priority.HIGH)
            job = RefreshState(enqueued.status, job.last_error)
        elif freshness == Freshness.STALE:
            enqueued = refresh_enqueue(resource=resource, priority=Priority.NORMAL)
            job = RefreshState(enqueued.status, job.last_error)
    elif freshness in (None, Freshness.EXPIRED):
        refresh_hurry(resource=resource)  # queued maybe LOW or NORMAL: a reader needs it now
    is_refreshing = job.status in ACTIVE_STATUSES
    if data is None:
        status = "missing"
    elif is_refreshing:
        status = "refreshing"
    else:
        status = str(freshness)
    if data is not None and job.last_error:
        LAST_KNOWN_GOOD_SERVED.labels(kind=resource.kind).inc()
    return {
        "status": status,
        "freshness": str(freshness) if freshness else None,
        "is_refreshing": is_refreshing,
        "last_fetched": clock.iso(last_fetched),
        "data": data,
        "last_error": job.last_error,
    }, last_fetched


def catalog_read(*, resource: Resource, wait: float = 0.0) -> dict[str, Any]:
    """The status envelope of one resource. Raises :class:`PartNotFound`.

    ``wait`` (seconds) holds the answer until the refresh of this resource finishes or the
    time is up: the REST stand-in for a subscription.
    """
    now = clock.now()
    cache = caches["catalog"]
    key = read_cache_key(resource)
    cached = cache.get(key) if not wait else None
    # An entry is good until its data stops being fresh, even inside the cache's timeout.
    if cached is not None and now.timestamp() < cached["fresh_until"]:
        CATALOG_CACHE.labels(result="hit").inc()
        return cached["envelope"]
    CATALOG_CACHE.labels(result="miss").inc()
    _check_not_missing(resource.no, now)
    envelope, last_fetched = _envelope(resource, now)
    if wait and envelope["is_refreshing"]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(settings.CATALOG_WAIT_POLL_SECONDS)
            if not refresh_active(resource):
                break
        now = clock.now()
        _check_not_missing(resource.no, now)
        envelope, last_fetched = _envelope(resource, now)
    if envelope["status"] == Freshness.FRESH and not envelope["last_error"]:
        fresh_until = (last_fetched + fresh_window()).timestamp()
        timeout = min(settings.CATALOG_CACHE_SECONDS, max(1, int(fresh_until - now.timestamp())))
        cache.set(key, {"envelope": envelope, "fresh_until": fresh_until}, timeout)
    return envelope
