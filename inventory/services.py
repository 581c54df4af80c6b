"""Writes of a seller's inventory: items, their audit trail, marketplace connections.

Every change writes the item and its history in one transaction and, **after commit**,
sends one sync task per enabled marketplace; the sync states turn ``syncing`` in the same
transaction, so what the API answers is already true. A rolled-back change sends nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection as db_connection
from django.db import transaction

from accounts.models import Account, User
from core import clock

from . import crypto
from .catalog_checks import catalog_ask_unseen, item_name, part_names, refresh_priority
from .models import (
    ChangeType,
    InventoryHistory,
    InventoryItem,
    MarketplaceConnection,
    Provider,
    SyncState,
    SyncStatus,
)
from .scheduling import enabled_providers, sync_schedule

logger = logging.getLogger(__name__)

ITEM_FIELDS = (
    "part_number",
    "color_id",
    "name",
    "condition",
    "quantity_available",
    "quantity_reserved",
    "quantity_sold",
    "status",
    "location",
    "price",
    "notes",
)
QUANTITIES = ("quantity_available", "quantity_reserved", "quantity_sold")
REQUIRED_CREDENTIALS = {
    Provider.BRICKLINK: ("consumer_key", "consumer_secret", "token_value", "token_secret"),
    Provider.BRICKOWL: ("api_key",),
}


class ConnectionInputError(ValueError):
    """Bad marketplace connection input; nothing was written."""


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _history(
    item: InventoryItem,
    change_type: str,
    actor: User | None,
    before: dict[str, Any],
    reason: str = "",
    *,
    save: bool = True,
) -> InventoryHistory:
    """The history row of a change, saved (``save=False``: for a bulk insert)."""
    after = {field: getattr(item, field) for field in ITEM_FIELDS}
    changes = {
        field: [_jsonable(before.get(field)), _jsonable(after[field])]
        for field in ITEM_FIELDS
        if before.get(field) != after[field]
    }
    deltas = {
        f"{field}_delta": (0 if change_type == ChangeType.DELETE else after[field])
        - (before.get(field) or 0)
        for field in QUANTITIES
    }
    entry = InventoryHistory(
        item=item,
        account_id=item.account_id,
        change_type=change_type,
        from_status=before.get("status", ""),
        to_status="" if change_type == ChangeType.DELETE else item.status,
        changes=changes,
        actor=actor,
        reason=reason[:500],
        version=item.version,
        created_at=item.updated_at,
        **deltas,
    )
    if save:
        entry.save()
    return entry


def item_create(
    *,
    account: Account,
    actor: User | None,
    data: dict[str, Any],
    change_type: str = ChangeType.CREATE,
    reason: str = "",
) -> InventoryItem:
    """A new item. ``change_type`` names the change in its history (``import`` for a lot of
    an inventory file). An empty name is the catalog's name of the part, and a part the
    catalog has not seen is asked for (``catalog_checks``)."""
    now = clock.now()
    fields = {field: data[field] for field in ITEM_FIELDS if field in data}
    fields["name"] = item_name(name=fields.get("name", ""), part_number=fields["part_number"])
    with transaction.atomic():
        item = InventoryItem.objects.create(
            account=account,
            created_by=actor,
            created_at=now,
            updated_at=now,
            version=1,
            **fields,
        )
        _history(item, change_type, actor, {}, reason)
        sync_schedule([item])
        catalog_ask_unseen(part_numbers=[item.part_number], priority=refresh_priority(change_type))
    return item


def items_create_many(
    *,
    account: Account,
    actor: User | None,
    datas: list[dict[str, Any]],
    change_type: str = ChangeType.CREATE,
    reason: str = "",
) -> list[InventoryItem]:
    """Many new items at once (an inventory file, a store takeover), each as
    :func:`item_create` makes it -- its history, its syncs, its unseen part asked for -- in a
    few statements per thousand items instead of several per item."""
    now = clock.now()
    names = part_names({data["part_number"] for data in datas})
    items = []
    for data in datas:
        fields = {field: data[field] for field in ITEM_FIELDS if field in data}
        fields["name"] = fields.get("name") or names.get(fields["part_number"], "")
        items.append(
            InventoryItem(
                account=account,
                created_by=actor,
                created_at=now,
                updated_at=now,
                version=1,
                **fields,
            )
        )
    with transaction.atomic():
        InventoryItem.objects.bulk_create(items, batch_size=1000)
        InventoryHistory.objects.bulk_create(
            [_history(item, change_type, actor, {}, reason, save=False) for item in items],
            batch_size=1000,
        )
        sync_schedule(items)
        catalog_ask_unseen(
            part_numbers={item.part_number for item in items},
            priority=refresh_priority(change_type),
        )
    return items


def item_update(
    *,
    item: InventoryItem,
    actor: User | None,
    data: dict[str, Any],
    reason: str = "",
    change_type: str = ChangeType.UPDATE,
) -> InventoryItem:
    """Apply the given fields. Nothing changed: no version, no history, no sync."""
    with transaction.atomic():
        # Concurrent updates of one item are applied one after the other, each on the last.
        item = InventoryItem.objects.select_for_update().get(pk=item.pk, archived=False)
        before = {field: getattr(item, field) for field in ITEM_FIELDS}
        for field, value in data.items():
            if field in ITEM_FIELDS:
                setattr(item, field, value)
        part_changed = item.part_number != before["part_number"]
        if "name" in data or part_changed:  # the catalog's name, where it is (catalog_checks)
            old_part = before["part_number"] if "name" not in data else None
            item.name = item_name(
                name=item.name, part_number=item.part_number, old_part_number=old_part
            )
        if all(getattr(item, field) == before[field] for field in ITEM_FIELDS):
            return item
        item.version += 1
        item.updated_at = clock.now()
        item.save()
        _history(item, change_type, actor, before, reason)
        sync_schedule([item])
        if part_changed:
            catalog_ask_unseen(
                part_numbers=[item.part_number], priority=refresh_priority(change_type)
            )
    return item


def item_move_stock(
    *,
    item: InventoryItem,
    available: int = 0,
    reserved: int = 0,
    sold: int = 0,
    change_type: str,
    reason: str,
) -> InventoryItem:
    """Move stock between an item's three quantities (deltas; none may go below zero), with
    its history, and sync it everywhere. Inside the caller's transaction, on an item the
    caller holds locked (``select_for_update``)."""
    before = {field: getattr(item, field) for field in ITEM_FIELDS}
    item.quantity_available += available
    item.quantity_reserved += reserved
    item.quantity_sold += sold
    if min(item.quantity_available, item.quantity_reserved, item.quantity_sold) < 0:
        raise ValueError(f"stock of item #{item.pk} would go below zero")
    if all(getattr(item, field) == before[field] for field in ITEM_FIELDS):
        return item
    item.version += 1
    item.updated_at = clock.now()
    item.save()
    _history(item, change_type, None, before, reason)
    sync_schedule([item])
    return item


def item_archive(*, item: InventoryItem, actor: User | None, reason: str = "") -> None:
    """Archive the item (it leaves the list) and remove its lots from the marketplaces."""
    with transaction.atomic():
        item = InventoryItem.objects.select_for_update().get(pk=item.pk)
        if item.archived:
            return
        before = {field: getattr(item, field) for field in ITEM_FIELDS}
        now = clock.now()
        item.archived, item.archived_at = True, now
        item.version += 1
        item.updated_at = now
        item.save()
        _history(item, ChangeType.DELETE, actor, before, reason)
        sync_schedule([item])


def item_sync_now(*, item: InventoryItem) -> list[str]:
    """Try again now (after ``failed``, say): attempts start over. Answers the providers."""
    with transaction.atomic():
        sync_schedule([item])
        return enabled_providers(item.account_id)


def connection_set(
    *,
    account: Account,
    provider: str,
    enabled: bool,
    credentials: dict[str, str] | None,
) -> MarketplaceConnection:
    """Create or change a connection. Credentials, when given, replace the stored ones (only
    the known keys are kept). Turning a connection on, or changing its credentials, schedules
    a sync of every live item so the store gets the seller's whole inventory."""
    if provider not in REQUIRED_CREDENTIALS:
        raise ConnectionInputError(f"unknown marketplace {provider!r}")
    with transaction.atomic():
        connection = (
            MarketplaceConnection.objects.select_for_update()
            .filter(account=account, provider=provider)
            .first()
        )
        if credentials is not None:
            required = REQUIRED_CREDENTIALS[provider]
            missing = [key for key in required if not str(credentials.get(key) or "").strip()]
            if missing:
                raise ConnectionInputError(f"missing credentials: {', '.join(missing)}")
            credentials = {key: str(credentials[key]).strip() for key in required}
        stored = credentials if credentials is not None else (connection and connection.credentials)
        if enabled and not stored:
            raise ConnectionInputError("credentials are needed to enable this marketplace")
        was_live = bool(connection and connection.enabled and connection.configured)
        changed_credentials = credentials is not None and (
            connection is None or connection.credentials != credentials
        )
        if connection is None:
            connection = MarketplaceConnection(account=account, provider=provider)
        connection.enabled = enabled
        if not connection.callback_secret:
            connection.callback_secret = secrets.token_urlsafe(32)
        if enabled and connection.orders_since is None:
            connection.orders_since = clock.now()  # orders before this are history
        if credentials is not None:
            connection.credentials = credentials
        connection.updated_at = clock.now()
        connection.save()
        if enabled and (not was_live or changed_credentials):
            sync_schedule(InventoryItem.objects.filter(account=account, archived=False))
        elif not enabled and was_live:
            SyncState.objects.filter(item__account=account, provider=provider).update(
                status=SyncStatus.DISABLED, next_attempt_at=None, updated_at=clock.now()
            )
    return connection


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    current: int
    unreadable: list[int]  # connection ids whose credentials no configured key opens


def credentials_rotate() -> RotationResult:
    """Re-encrypt every stored credential under the first key of ``FIELD_ENCRYPTION_KEY``.

    Idempotent: credentials already under that key are left alone. Reads and writes the
    ciphertext itself (never the decrypted value), one row at a time and only if the row
    still holds what was read, so a credential saved meanwhile is never overwritten.
    Unreadable credentials are reported and left untouched.
    """
    table = MarketplaceConnection._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, credentials FROM {table} "  # noqa: S608 - the model's own table name
            "WHERE credentials IS NOT NULL AND credentials <> '' ORDER BY id"
        )
        rows = cursor.fetchall()
    rotated = current = 0
    unreadable: list[int] = []
    for connection_id, token in rows:
        if crypto.is_current(token):
            current += 1
            continue
        try:
            new_token = crypto.rotate(token)
        except crypto.CredentialsUnreadable:
            unreadable.append(connection_id)
            continue
        with db_connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET credentials = %s "  # noqa: S608 - as above
                "WHERE id = %s AND credentials = %s",
                [new_token, connection_id, token],
            )
            rotated += cursor.rowcount
    return RotationResult(rotated=rotated, current=current, unreadable=unreadable)
