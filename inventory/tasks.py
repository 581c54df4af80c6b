"""Thin Celery tasks over inventory services. How they are sent: inventory/work.py."""

from __future__ import annotations

import logging

from celery import shared_task

from core.metrics import INVENTORY_SYNCS
from core.tasks import RETRY_WHEN_DATABASE_AWAY

from . import sync, work

logger = logging.getLogger(__name__)


@shared_task(name="inventory.sync_item", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def sync_item(item_id: int, provider: str) -> str:
    outcome = sync.sync_run(item_id=item_id, provider=provider)
    if outcome.outcome not in ("busy", "not_due"):
        INVENTORY_SYNCS.labels(provider=provider, outcome=outcome.outcome).inc()
    return outcome.outcome


@shared_task(name="inventory.upload", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def upload(account_id: int, provider: str) -> int:
    from .uploads import upload_run

    outcome = upload_run(account_id, provider)
    if outcome.synced:
        INVENTORY_SYNCS.labels(provider=provider, outcome="synced").inc(outcome.synced)
    return outcome.synced


@shared_task(name="inventory.sweep", ignore_result=True)
def sweep() -> int:
    reclaimed, dispatched = work.sync_sweep()
    if reclaimed:
        logger.warning("took back %s syncs whose worker stopped", reclaimed)
    return dispatched


@shared_task(
    name="inventory.reconcile_all", ignore_result=True, soft_time_limit=3000, time_limit=3600
)
def reconcile_all() -> int:
    from .reconcile import reconcile_all_accounts

    return len(reconcile_all_accounts())
