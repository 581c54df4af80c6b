"""Reads of a seller's inventory, always scoped to one account.

Archived items are gone as far as readers are concerned: they are never listed and never
found, exactly like another account's items.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Account

from .models import InventoryHistory, InventoryItem, MarketplaceConnection, Provider, SyncState

SYNC_STATE_FIELDS = ("id", "item_id", "provider", "status", "lot_id", "last_error", "synced_at")


def item_list(*, account: Account) -> QuerySet[InventoryItem]:
    """The account's live items, newest first, with their sync states in one more query."""
    return (
        InventoryItem.objects.filter(account=account, archived=False)
        .prefetch_related(
            Prefetch("sync_states", queryset=SyncState.objects.only(*SYNC_STATE_FIELDS))
        )
        .order_by("-id")
    )


def item_get(*, account: Account, item_id: int, with_sync: bool = True) -> InventoryItem:
    """One live item of the account (with its sync states, unless a write only needs the
    row); ``InventoryItem.DoesNotExist`` for anything else."""
    items = (
        item_list(account=account)
        if with_sync
        else InventoryItem.objects.filter(account=account, archived=False)
    )
    return items.get(pk=item_id)


def item_history(*, item: InventoryItem) -> QuerySet[InventoryHistory]:
    return InventoryHistory.objects.filter(item=item).select_related("actor").order_by("-id")


def connection_list(*, account: Account) -> list[dict]:
    """Every marketplace, in a fixed order, whether the account connected it or not.
    Never the credentials themselves: only whether there are some."""
    connections = {
        connection.provider: connection
        for connection in MarketplaceConnection.objects.filter(account=account)
    }
    return [connection_summary(provider, connections.get(provider)) for provider in Provider.values]


def connection_summary(provider: str, connection: MarketplaceConnection | None) -> dict:
    return {
        "provider": provider,
        "enabled": bool(connection and connection.enabled),
        "configured": bool(connection and connection.configured),
    }


def connection_get(*, account: Account, provider: str) -> MarketplaceConnection | None:
    return MarketplaceConnection.objects.filter(account=account, provider=provider).first()


def callback_path(connection: MarketplaceConnection | None) -> str | None:
    """The path of the store's push URL (its secret in it), or None before it is connected."""
    if connection is None or not connection.callback_secret:
        return None
    return f"/api/v1/hooks/{connection.provider}/{connection.callback_secret}/"


def sync_progress(account_id: int) -> dict[str, dict[str, int]]:
    """Per marketplace, how many of the account's live items are synced, syncing, failed...
    (what the admin shows while a big upload runs)."""
    rows = (
        SyncState.objects.filter(item__account_id=account_id, item__archived=False)
        .values("provider", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    progress: dict[str, dict[str, int]] = {}
    for row in rows:
        progress.setdefault(row["provider"], {})[row["status"]] = row["count"]
    return progress
