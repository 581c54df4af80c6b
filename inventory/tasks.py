"""Thin Celery tasks over inventory services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.metrics import INVENTORY_SYNCS
from core.tasks import RETRY_WHEN_DATABASE_AWAY

from . import services, sync

logger = logging.getLogger(__name__)


def publish_sync(item_id: int, provider: str, countdown: float | None = None) -> None:
    """A hint for the workers; the sync state in PostgreSQL is the record, and the sweeper
    sends whatever could not be published."""
    try:
        sync_item.apply_async(
            args=[item_id, provider], countdown=countdown, queue=settings.INVENTORY_SYNC_QUEUE
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper recovers it
        logger.warning(
            "could not publish the sync of #%s on %s (%s); the sweeper will send it",
            item_id,
            provider,
            type(exc).__name__,
        )


def publish_sweep() -> None:
    try:
        sweep.apply_async()
    except Exception as exc:  # noqa: BLE001 - beat runs the sweeper anyway
        logger.warning("could not publish a sweep (%s)", type(exc).__name__)


@shared_task(name="inventory.sync_item", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def sync_item(item_id: int, provider: str) -> str:
    outcome = sync.sync_run(item_id=item_id, provider=provider)
    if outcome.outcome not in ("busy", "not_due"):
        INVENTORY_SYNCS.labels(provider=provider, outcome=outcome.outcome).inc()
    return outcome.outcome


@shared_task(name="inventory.sweep", ignore_result=True)
def sweep() -> int:
    reclaimed, dispatched = services.sync_sweep()
    if reclaimed:
        logger.warning("took back %s syncs whose worker stopped", reclaimed)
    return dispatched


@shared_task(
    name="inventory.reconcile_all", ignore_result=True, soft_time_limit=3000, time_limit=3600
)
def reconcile_all() -> int:
    from .reconcile import reconcile_all_accounts

    return len(reconcile_all_accounts())
