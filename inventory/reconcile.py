"""Repairing drift between an account's items and its marketplace stores.

Someone edits a lot by hand, a lot is sold on the marketplace, a create landed twice: the
store no longer equals the items. Reconciliation lists the store (1 call on each marketplace),
matches lots to items by our marker (BrickLink: ``[brickops:ID]`` in the private remarks;
BrickOwl: the external id ``brickops-ID``), and for each difference:

* an orphan lot carrying our marker (its item is archived, gone, not for sale, or a second
  lot of one item) is deleted;
* a lot the sync state does not know (or knows under another id) is adopted;
* what the store holds becomes the sync state's *confirmed* truth, and an item whose lot is
  missing or different is synced — by the normal sync, which computes its delta from that
  truth.

Lots without our marker belong to the seller, not to us: they are never touched. Every change
is reported; ``dry_run`` only reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import Account
from core import clock
from outbox.claims import finish

from .lots import bricklink, brickowl
from .lots.base import Gate, Unmappable
from .models import InventoryItem, MarketplaceConnection, Provider, SyncState, SyncStatus
from .scheduling import sync_schedule
from .sync import claim_sync, client_for, sync_run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repair:
    provider: str
    action: str  # delete_orphan | delete_duplicate | adopt | resync | busy
    item_id: int | None
    lot_id: str
    detail: str

    def __str__(self) -> str:
        item = f"item #{self.item_id}" if self.item_id else "no item"
        return f"{self.provider}: {self.action} lot {self.lot_id or '-'} ({item}): {self.detail}"


@dataclass
class _Lot:
    lot_id: str
    item_id: int | None
    quantity: int
    confirmed: dict[str, Any]
    matches: Callable[[InventoryItem], bool]


def _bricklink_lots(client, gate: Gate) -> list[_Lot]:
    with gate.call():
        lots = client.inventory_list()
    found = []
    for lot in lots:
        confirmed = bricklink.confirmed_of(lot)
        found.append(
            _Lot(
                lot_id=str(lot.inventory_id),
                item_id=bricklink.marked_item_id(lot.remarks),
                quantity=lot.quantity,
                confirmed=confirmed,
                matches=lambda item, confirmed=confirmed: bricklink.matches(item, confirmed),
            )
        )
    return found


def _brickowl_lots(client, gate: Gate) -> list[_Lot]:
    with gate.call():
        lots = client.inventory_list()
    catalog = brickowl.Catalog.for_seller(client, gate)

    def matches(item: InventoryItem, confirmed: dict[str, Any]) -> bool:
        try:
            return brickowl.matches(confirmed, brickowl.desired_for(item, catalog))
        except Unmappable:
            return False  # the sync says why

    found = []
    for lot in lots:
        confirmed = brickowl.confirmed_of(lot)
        found.append(
            _Lot(
                lot_id=lot.lot_id,
                item_id=brickowl.external_item_id(lot.external_id),
                quantity=lot.quantity,
                confirmed=confirmed,
                matches=lambda item, confirmed=confirmed: matches(item, confirmed),
            )
        )
    return found


def reconcile_provider(
    *,
    account: Account,
    provider: str,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[Repair]:
    conn = MarketplaceConnection.objects.filter(account=account, provider=provider).first()
    if conn is None or not conn.enabled or not conn.configured:
        return []
    client = client_for(conn)
    gate = Gate(provider, account.id)
    lots = (_bricklink_lots if provider == Provider.BRICKLINK else _brickowl_lots)(client, gate)
    items = {item.id: item for item in InventoryItem.objects.filter(account=account)}
    states = {
        state.item_id: state
        for state in SyncState.objects.filter(item__account=account, provider=provider)
    }
    ours: dict[int, list[_Lot]] = {}
    repairs: list[Repair] = []
    for lot in lots:
        if lot.item_id is not None:
            ours.setdefault(lot.item_id, []).append(lot)

    def delete(lot: _Lot, action: str, detail: str) -> None:
        repairs.append(Repair(provider, action, lot.item_id, lot.lot_id, detail))
        if not dry_run:
            with gate.call():
                if provider == Provider.BRICKLINK:
                    bricklink.delete(client, int(lot.lot_id))
                else:
                    brickowl.delete(client, lot.lot_id)

    to_sync: list[InventoryItem] = []
    live = [item for item in items.values() if not item.archived]
    total = len(ours) + len(live)
    done = 0
    for item_id, item_lots in sorted(ours.items()):
        item = items.get(item_id)
        if item is None or item.listed_quantity <= 0:
            why = "its item does not exist" if item is None else "its item is not for sale"
            for lot in item_lots:
                delete(lot, "delete_orphan", why)
            if item is not None and states.get(item_id) and states[item_id].lot_id:
                _set_truth(states[item_id], "", None, dry_run)
        else:
            state = states.get(item_id)
            known = state.lot_id if state else ""
            keep = next((lot for lot in item_lots if lot.lot_id == known), item_lots[0])
            for lot in item_lots:
                if lot is not keep:
                    delete(lot, "delete_duplicate", "a second lot of the same item")
            if known != keep.lot_id:
                repairs.append(
                    Repair(
                        provider,
                        "adopt",
                        item_id,
                        keep.lot_id,
                        f"the sync state knew lot {known or 'none'}",
                    )
                )
            if state is None or known != keep.lot_id or state.confirmed != keep.confirmed:
                _set_truth(
                    state, keep.lot_id, keep.confirmed, dry_run, item=item, provider=provider
                )
            if not keep.matches(item):
                detail = (
                    f"the store holds {keep.quantity}, the item {item.listed_quantity} "
                    "(or its price or notes differ)"
                )
                repairs.append(Repair(provider, "resync", item_id, keep.lot_id, detail))
                to_sync.append(item)
        done += 1
        if progress:
            progress(done, total)
    for item in live:
        if item.listed_quantity > 0 and item.id not in ours:
            state = states.get(item.id)
            repairs.append(
                Repair(
                    provider,
                    "resync",
                    item.id,
                    state.lot_id if state else "",
                    "no lot in the store",
                )
            )
            if state and state.lot_id:
                _set_truth(state, "", None, dry_run)
            to_sync.append(item)
        done += 1
        if progress:
            progress(done, total)
    if not dry_run and to_sync:
        with transaction.atomic():
            sync_schedule(to_sync)
    for repair in repairs:
        logger.info("reconcile%s: %s", " (dry run)" if dry_run else "", repair)
    return repairs


def _set_truth(
    state: SyncState | None,
    lot_id: str,
    confirmed: dict[str, Any] | None,
    dry_run: bool,
    *,
    item: InventoryItem | None = None,
    provider: str = "",
) -> None:
    """Record what the store holds, under the sync's own claim (a running sync keeps its)."""
    if dry_run:
        return
    if state is None:
        state = SyncState.objects.create(
            item=item, provider=provider, status=SyncStatus.SYNCING, updated_at=clock.now()
        )
    claim = claim_sync(state.pk, lease=60, due_only=False)
    if claim is None:
        logger.info("reconcile: the sync of #%s is running; it will re-read", state.item_id)
        SyncState.objects.filter(pk=state.pk).update(in_doubt=True)
        return
    finish(
        claim,
        lot_id=lot_id,
        confirmed=confirmed,
        confirmed_at=clock.now(),
        in_doubt=False,
        recheck=False,
    )


def reconcile_account(
    *,
    account: Account,
    provider: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    run_syncs: bool = False,
) -> list[Repair]:
    """Reconcile one account on one or both marketplaces. With ``run_syncs`` the syncs it
    schedules run here and now (the command) instead of on the workers."""
    repairs: list[Repair] = []
    for name in [provider] if provider else Provider.values:
        found = reconcile_provider(
            account=account, provider=name, dry_run=dry_run, progress=progress
        )
        repairs += found
        if run_syncs and not dry_run:
            for item_id in {r.item_id for r in found if r.action == "resync" and r.item_id}:
                sync_run(item_id=item_id, provider=name)
    return repairs


def reconcile_all_accounts() -> list[Repair]:
    repairs: list[Repair] = []
    account_ids = (
        MarketplaceConnection.objects.filter(enabled=True)
        .values_list("account_id", flat=True)
        .distinct()
    )
    for account in Account.objects.filter(id__in=account_ids):
        try:
            repairs += reconcile_account(account=account)
        except Exception:
            # One account's marketplace being down must not stop the others.
            logger.exception("reconciliation of account %s failed", account.id)
    return repairs
