"""Asking for syncs: every change to items ends here, inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

from core import clock

from . import work
from .models import InventoryItem, MarketplaceConnection, Provider, SyncState, SyncStatus

# More syncs than this from one change (a store turned on, a big import) are sent by a sweep
# in batches instead of one message each from the request.
DIRECT_PUBLISH_LIMIT = 100

# The items whose syncs an open sync_batch() has collected (by id), or None outside one.
_batched: ContextVar[dict[int, InventoryItem] | None] = ContextVar("sync_batch", default=None)


def enabled_providers(account_id: int) -> list[str]:
    return [
        connection.provider
        for connection in MarketplaceConnection.objects.filter(account_id=account_id, enabled=True)
        if connection.configured
    ]


def sync_schedule(items: Iterable[InventoryItem]) -> None:
    """Mark the items' states ``syncing`` (inside the caller's transaction) and, once it
    commits, send their syncs -- or, for a big batch, a sweep that sends them in batches.
    Disabled marketplaces get a ``disabled`` state. Attempts start over."""
    items = list(items)
    if not items:
        return
    batch = _batched.get()
    if batch is not None:
        batch.update((item.pk, item) for item in items)
        return
    now = clock.now()
    providers = {
        account_id: enabled_providers(account_id)
        for account_id in {item.account_id for item in items}
    }
    enabled_count = sum(len(providers[item.account_id]) for item in items)
    direct = enabled_count <= DIRECT_PUBLISH_LIMIT
    states = []
    to_send: list[tuple[int, str]] = []
    for item in items:
        for provider in Provider.values:
            enabled = provider in providers[item.account_id]
            states.append(
                SyncState(
                    item=item,
                    provider=provider,
                    status=SyncStatus.SYNCING if enabled else SyncStatus.DISABLED,
                    next_attempt_at=now if enabled else None,
                    attempts=0,
                    updated_at=now,
                    # Sent now, or (a big batch) never yet: the sweep sends those.
                    dispatched_at=now if enabled and direct else None,
                )
            )
            if enabled:
                to_send.append((item.id, provider))
    SyncState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["item", "provider"],
        update_fields=["status", "next_attempt_at", "attempts", "updated_at", "dispatched_at"],
    )
    if direct:
        transaction.on_commit(lambda: [work.publish_sync(item_id, p) for item_id, p in to_send])
    else:
        transaction.on_commit(work.publish_sweep)


@contextmanager
def sync_batch() -> Iterator[None]:
    """Inside the caller's transaction: the syncs asked for by the changes made in the block
    are scheduled once, as one batch, when it ends (an item changed twice is synced once).
    So a file of thousands of lots, written item by item through the services, sends one
    sweep after commit instead of a message per item. A block that raises schedules nothing
    (its transaction is rolled back)."""
    batch: dict[int, InventoryItem] = {}
    token = _batched.set(batch)
    try:
        yield
    finally:
        _batched.reset(token)
    sync_schedule(batch.values())
