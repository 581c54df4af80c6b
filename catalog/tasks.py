"""Thin Celery tasks over catalog services: ids in, one service call, done."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from core.metrics import REFRESH_DURATION, REFRESHES
from core.tasks import RETRY_WHEN_DATABASE_AWAY
from marketplaces.errors import MarketplaceError

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="catalog.process_refresh", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def process_refresh(job_id: int) -> str:
    started = time.monotonic()
    outcome = services.refresh_process(job_id=job_id)
    if outcome.kind:
        REFRESHES.labels(kind=outcome.kind, outcome=outcome.outcome).inc()
        if outcome.outcome in ("succeeded", "failed", "retrying"):
            REFRESH_DURATION.labels(kind=outcome.kind).observe(time.monotonic() - started)
    return outcome.outcome


@shared_task(name="catalog.drain", ignore_result=True)
def drain() -> int:
    return services.refresh_drain().dispatched


@shared_task(name="catalog.enqueue_stale", ignore_result=True)
def enqueue_stale() -> int:
    return services.refresh_enqueue_stale()


@shared_task(name="catalog.cleanup", ignore_result=True)
def cleanup() -> int:
    return services.refresh_cleanup()


@shared_task(name="catalog.sync_reference", ignore_result=True)
def sync_reference() -> tuple[int, int] | None:
    try:
        return services.reference_sync()
    except MarketplaceError as exc:
        # Weekly, and the data keeps: next week's run (or the command) tries again.
        logger.warning("reference data sync failed: %s", exc)
        return None
