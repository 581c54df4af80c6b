"""Writes of a seller's inventory: items, their audit trail, marketplace connections.

Every change writes the item and its history in one transaction and, **after commit**,
sends one sync task per enabled marketplace; the sync states turn ``syncing`` in the same
transaction, so what the API answers is already true. A rolled-back change sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection as db_connection
from django.db import transaction

from accounts.models import Account, User
from core import clock

from . import crypto
from .models import (
    ChangeType,
    InventoryHistory,
    InventoryItem,
    MarketplaceConnection,
    Provider,
    SyncState,
    SyncStatus,
)

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


class ConnectionError_(ValueError):  # not the builtin ConnectionError
    """Bad marketplace connection input; nothing was written."""


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _history(
    item: InventoryItem,
    change_type: str,
    actor: User | None,
    before: dict[str, Any],
    reason: str = "",
) -> InventoryHistory:
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
    return InventoryHistory.objects.create(
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


def enabled_providers(account_id: int) -> list[str]:
    return [
        connection.provider
        for connection in MarketplaceConnection.objects.filter(account_id=account_id, enabled=True)
        if connection.configured
    ]


DIRECT_PUBLISH_LIMIT = 100


def _schedule_sync(items: Iterable[InventoryItem]) -> None:
    """Mark the items' states ``syncing`` (inside the caller's transaction) and, once it
    commits, send their tasks — or, for a big batch, wake the sweeper that sends due states
    in batches. Disabled marketplaces get a ``disabled`` state. Attempts start over."""
    from .tasks import publish_sweep, publish_sync

    items = list(items)
    if not items:
        return
    now = clock.now()
    providers = {
        account_id: enabled_providers(account_id)
        for account_id in {item.account_id for item in items}
    }
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
                    dispatched_at=now if enabled else None,
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
    if len(to_send) <= DIRECT_PUBLISH_LIMIT:
        transaction.on_commit(lambda: [publish_sync(item_id, p) for item_id, p in to_send])
    else:
        transaction.on_commit(publish_sweep)


def item_create(*, account: Account, actor: User | None, data: dict[str, Any]) -> InventoryItem:
    now = clock.now()
    with transaction.atomic():
        item = InventoryItem.objects.create(
            account=account,
            created_by=actor,
            created_at=now,
            updated_at=now,
            version=1,
            **{field: data[field] for field in ITEM_FIELDS if field in data},
        )
        _history(item, ChangeType.CREATE, actor, {})
        _schedule_sync([item])
    return item


def item_update(
    *, item: InventoryItem, actor: User | None, data: dict[str, Any], reason: str = ""
) -> InventoryItem:
    """Apply the given fields. Nothing changed: no version, no history, no sync."""
    with transaction.atomic():
        # Concurrent updates of one item are applied one after the other, each on the last.
        item = InventoryItem.objects.select_for_update().get(pk=item.pk, archived=False)
        before = {field: getattr(item, field) for field in ITEM_FIELDS}
        for field, value in data.items():
            if field in ITEM_FIELDS:
                setattr(item, field, value)
        if all(getattr(item, field) == before[field] for field in ITEM_FIELDS):
            return item
        item.version += 1
        item.updated_at = clock.now()
        item.save()
        _history(item, ChangeType.UPDATE, actor, before, reason)
        _schedule_sync([item])
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
        _schedule_sync([item])


def item_sync_now(*, item: InventoryItem) -> list[str]:
    """Try again now (after ``failed``, say): attempts start over. Answers the providers."""
    with transaction.atomic():
        _schedule_sync([item])
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
        raise ConnectionError_(f"unknown marketplace {provider!r}")
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
                raise ConnectionError_(f"missing credentials: {', '.join(missing)}")
            credentials = {key: str(credentials[key]).strip() for key in required}
        stored = credentials if credentials is not None else (connection and connection.credentials)
        if enabled and not stored:
            raise ConnectionError_("credentials are needed to enable this marketplace")
        was_live = bool(connection and connection.enabled and connection.configured)
        changed_credentials = credentials is not None and (
            connection is None or connection.credentials != credentials
        )
        if connection is None:
            connection = MarketplaceConnection(account=account, provider=provider)
        connection.enabled = enabled
        if credentials is not None:
            connection.credentials = credentials
        connection.updated_at = clock.now()
        connection.save()
        if enabled and (not was_live or changed_credentials):
            _schedule_sync(InventoryItem.objects.filter(account=account, archived=False))
        elif not enabled and was_live:
            SyncState.objects.filter(item__account=account, provider=provider).update(
                status=SyncStatus.DISABLED, next_attempt_at=None, updated_at=clock.now()
            )
    return connection


def sync_sweep(*, batch_size: int | None = None) -> tuple[int, int]:
    """Take back syncs whose run died (lease expired) and send due ones to the workers, a
    batch at a time. Answers (reclaimed, dispatched)."""
    from django.conf import settings
    from django.db.models import F

    from .tasks import publish_sync

    now = clock.now()
    expired = SyncState.objects.filter(claim_token__isnull=False, lease_expires_at__lt=now)
    reclaimed = expired.update(
        claim_token=None,
        lease_expires_at=None,
        dispatched_at=None,
        next_attempt_at=now,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    # A sync that keeps killing its worker ends failed rather than looping.
    SyncState.objects.filter(
        status=SyncStatus.SYNCING,
        claim_token__isnull=True,
        attempts__gte=settings.INVENTORY_SYNC_MAX_ATTEMPTS,
    ).update(
        status=SyncStatus.FAILED,
        next_attempt_at=None,
        updated_at=now,
        last_error={
            "code": "worker_lost",
            "message": "the sync's worker stopped before finishing, too many times",
            "at": now.isoformat().replace("+00:00", "Z"),
        },
    )
    resend_before = now - timedelta(seconds=settings.INVENTORY_REDISPATCH_SECONDS)
    with transaction.atomic():
        due = list(
            SyncState.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[SyncStatus.PENDING, SyncStatus.SYNCING],
                claim_token__isnull=True,
                next_attempt_at__lte=now,
            )
            .exclude(dispatched_at__gte=resend_before)
            .order_by("next_attempt_at", "id")
            .values_list("id", "item_id", "provider")[
                : batch_size or settings.INVENTORY_SWEEP_BATCH_SIZE
            ]
        )
        SyncState.objects.filter(id__in=[row[0] for row in due]).update(dispatched_at=now)
    for _, item_id, provider in due:
        publish_sync(item_id, provider)
    return reclaimed, len(due)


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
