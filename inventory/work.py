"""Inventory syncs as a kind of outbox work (outbox/claims.py): one row per item and
marketplace (SyncState), and how the workers are told about one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q

from core import clock
from outbox.claims import Work
from outbox.publish import send
from outbox.sweep import sweep_kind

from .models import SyncState, SyncStatus


def publish_sync(item_id: int, provider: str, countdown: float | None = None) -> None:
    """Tell the workers to sync ``item_id`` on ``provider`` (on INVENTORY_SYNC_QUEUE)."""
    from .tasks import sync_item

    send(
        sync_item,
        [item_id, provider],
        queue=settings.INVENTORY_SYNC_QUEUE,
        countdown=countdown,
        what=f"the sync of #{item_id} on {provider}",
    )


def publish_sweep() -> None:
    """Send the due syncs now (after a change to many items at once) instead of one message
    per sync from the request."""
    from .tasks import sweep

    send(sweep, [], what="a sweep of due syncs")


def _failed(now: datetime) -> Mapping[str, Any]:
    return {"status": SyncStatus.FAILED, "next_attempt_at": None}


def uploads_send(now: datetime) -> int:
    """Syncs that only need a lot, many to a message (inventory/uploads.py)."""
    from .uploads import uploads_send as send_in_batches

    return send_in_batches(now)


SYNCS = Work(
    kind="inventory_sync",
    model=SyncState,
    active=Q(status__in=[SyncStatus.PENDING, SyncStatus.SYNCING]),
    # Any state: a run that finds it synced, failed or disabled says so ("not due").
    claimable=Q(),
    running={},
    waiting={"status": SyncStatus.SYNCING},
    failed=_failed,
    # Looked up when called, so a test can stand in for the broker.
    hint=lambda row, countdown: publish_sync(row["item_id"], row["provider"], countdown=countdown),
    hint_fields=("item_id", "provider"),
    send_batches=uploads_send,
)


def sync_sweep() -> tuple[int, int]:
    """Take back syncs whose worker died and send due ones (and lost ones) to the workers, a
    batch at a time: what beat's outbox sweep does for syncs. Answers (taken back, sent)."""
    return sweep_kind(SYNCS, now=clock.now(), batch=settings.INVENTORY_SWEEP_BATCH_SIZE)
