"""Keeping the catalog fresh in the background, and its outbox small: the hourly scan that
queues LOW refreshes of stale data within the background share of the day's quota, and the
nightly cleanup of finished rows."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from catalog.domain import BACKGROUND_LIMIT, CALLS, Resource
from catalog.models import (
    ACTIVE_STATUSES,
    DrainRun,
    JobStatus,
    Kind,
    MissingPart,
    Part,
    PartColorList,
    PriceGuide,
    Priority,
    RefreshJob,
)
from core import clock
from ratelimit.selectors import rate_limit_status

from .enqueue import refresh_enqueue_many

logger = logging.getLogger(__name__)


def refresh_enqueue_stale(*, limit: int | None = None) -> int:
    """Enqueue LOW refreshes of data that is no longer fresh, oldest first, no more than the
    background share of today's quota has left. Answers how many were queued."""
    now = clock.now()
    [status] = rate_limit_status(name=BACKGROUND_LIMIT)
    budget = int(max(0.0, status.remaining))
    if limit is not None:
        budget = min(budget, limit)
    if budget <= 0:
        return 0
    stale_before = now - timedelta(days=settings.CATALOG_FRESH_DAYS)
    candidates: list[tuple[datetime, Resource]] = []
    active = RefreshJob.objects.filter(status__in=ACTIVE_STATUSES)
    busy = set(active.values_list("resource", flat=True))
    for no, fetched in (
        Part.objects.filter(last_fetched__lt=stale_before)
        .order_by("last_fetched")
        .values_list("no", "last_fetched")[:budget]
    ):
        candidates.append((fetched, Resource(Kind.PART, no)))
    for no, fetched in (
        PartColorList.objects.filter(last_fetched__lt=stale_before)
        .order_by("last_fetched")
        .values_list("no", "last_fetched")[:budget]
    ):
        candidates.append((fetched, Resource(Kind.PART_COLORS, no)))
    guides = (
        PriceGuide.objects.filter(
            last_fetched__lt=stale_before,
            new_or_used="N",
            guide_type="stock",
            currency_code=settings.CATALOG_CURRENCY,
        )
        .order_by("last_fetched")
        .values_list("no", "color_id", "last_fetched")[: max(1, budget // 4)]
    )
    for no, color_id, fetched in guides:
        candidates.append((fetched, Resource(Kind.PRICE_GUIDE, no, color_id)))
    candidates.sort(key=lambda item: item[0])
    chosen: list[Resource] = []
    spent = 0
    for _, resource in candidates:
        cost = CALLS[resource.kind]
        if resource.key in busy or spent + cost > budget:
            continue
        chosen.append(resource)
        spent += cost
    created, _ = refresh_enqueue_many(resources=chosen, priority=Priority.LOW)
    logger.info("background freshness: queued %s refreshes (%s calls)", len(created), spent)
    return len(created)


def refresh_cleanup(*, older_than_days: int | None = None, batch: int | None = None) -> int:
    """Delete finished rows older than the retention, a batch at a time (short locks)."""
    days = older_than_days if older_than_days is not None else settings.CATALOG_CLEANUP_AFTER_DAYS
    size = batch or settings.CATALOG_CLEANUP_BATCH
    before = clock.now() - timedelta(days=days)
    finished = RefreshJob.objects.filter(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED], processed_at__lt=before
    )
    deleted = 0
    while True:
        ids = list(finished.values_list("id", flat=True)[:size])
        if not ids:
            break
        deleted += RefreshJob.objects.filter(id__in=ids).delete()[0]
    DrainRun.objects.filter(started_at__lt=before).delete()
    MissingPart.objects.filter(
        confirmed_at__lt=clock.now() - timedelta(days=settings.CATALOG_NOT_FOUND_DAYS)
    ).delete()
    return deleted
