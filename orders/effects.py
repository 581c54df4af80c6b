"""Storing an order and moving the stock it implies -- exactly once, in one transaction.

An order is stored (or its change recorded) in the same transaction that moves its items'
stock, so however often it is seen -- a poll, a notification, a task delivered twice, a
restart -- the stock moves once per change of what the order implies. Each line keeps what it
has moved (``applied_quantity``) and where that sits (``applied_bucket``); a change of the
order's state moves only the difference:

* open: the line's quantity leaves ``available`` for ``reserved`` (no more than is there: the
  rest is *oversold* and the order needs attention);
* completed: reserved becomes sold;
* cancelled, or the line removed from the order: what it moved comes back to available.

The marketplace that sold has already taken the quantity off its lot, so its *confirmed*
quantity moves with the order (no call is sent there for it); every marketplace is synced at
once with the item's new stock, which also restocks all of them on a cancellation (neither
marketplace restocks by itself).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from core import clock
from inventory.models import ChangeType, InventoryItem, Provider, SyncState
from inventory.scheduling import sync_schedule
from inventory.services import item_move_stock

from .models import Bucket, LineEffect, Order, OrderLine, OrderState
from .snapshots import LineSnapshot, OrderSnapshot

logger = logging.getLogger(__name__)


# Marketplaces give order times to the second (BrickOwl) or the millisecond (BrickLink): an
# order placed in the second the store was switched on is not history.
HISTORY_TOLERANCE = timedelta(seconds=1)


def is_history(placed_at: datetime | None, since: datetime | None) -> bool:
    """Placed before the store's orders were followed: recorded, moving no stock."""
    return bool(since and placed_at and placed_at < since - HISTORY_TOLERANCE)


@dataclass(frozen=True)
class Recorded:
    order_id: int
    created: bool
    changed: bool  # anything stored or moved


def order_record(*, account_id: int, snapshot: OrderSnapshot, since: datetime | None) -> Recorded:
    """Store ``snapshot`` and apply what it changes. Orders placed before ``since`` (when this
    store's orders started being followed) are history: stored, moving no stock."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return _record(account_id, snapshot, since)
        except IntegrityError:
            continue  # another ingestion created the order at the same moment: lock it now
    raise RuntimeError(f"could not record order {snapshot.provider}/{snapshot.external_id}")


def _record(account_id: int, snapshot: OrderSnapshot, since: datetime | None) -> Recorded:
    now = clock.now()
    order = (
        Order.objects.select_for_update()
        .filter(account_id=account_id, provider=snapshot.provider, external_id=snapshot.external_id)
        .first()
    )
    created = order is None
    if created:
        order = Order.objects.create(
            account_id=account_id,
            provider=snapshot.provider,
            external_id=snapshot.external_id,
            status=snapshot.status,
            state=snapshot.state or OrderState.OPEN,
            buyer_name=snapshot.buyer_name[:200],
            placed_at=snapshot.placed_at,
            status_changed_at=snapshot.status_changed_at,
            history=is_history(snapshot.placed_at, since),
            created_at=now,
            updated_at=now,
        )
    state = snapshot.state or order.state
    lines_changed = snapshot.lines is not None and _lines_differ(order, snapshot.lines)
    same = snapshot.status == order.status and state == order.state and not lines_changed
    if same and not created:
        return Recorded(order.pk, created=False, changed=False)
    if snapshot.state is None:
        logger.warning(
            "%s order %s has a status we do not know (%r): its stock stays as it was",
            snapshot.provider,
            snapshot.external_id,
            snapshot.status,
        )
    if snapshot.lines is not None:
        _store_lines(order, snapshot.lines)
    order.status = snapshot.status[:40]
    order.state = state
    order.status_changed_at = snapshot.status_changed_at
    order.buyer_name = (snapshot.buyer_name or order.buyer_name)[:200]
    order.updated_at = now
    if not order.history:
        _apply(order)
    order.needs_attention = _needs_attention(order)
    order.save()
    return Recorded(order.pk, created=created, changed=True)


def _lines_differ(order: Order, lines: tuple[LineSnapshot, ...]) -> bool:
    stored = {line.lot_id: line.quantity for line in order.lines.filter(present=True)}
    return stored != {line.lot_id: line.quantity for line in _merged(lines)}


def _merged(lines: tuple[LineSnapshot, ...]) -> list[LineSnapshot]:
    """One line per lot (BrickLink lists an order's items in batches; a lot may recur)."""
    merged: dict[str, LineSnapshot] = {}
    for line in lines:
        earlier = merged.get(line.lot_id)
        if earlier is not None:
            line = LineSnapshot(
                lot_id=line.lot_id,
                quantity=earlier.quantity + line.quantity,
                part_number=line.part_number,
                color_id=line.color_id,
                condition=line.condition,
                unit_price=line.unit_price,
            )
        merged[line.lot_id] = line
    return list(merged.values())


def _store_lines(order: Order, lines: tuple[LineSnapshot, ...]) -> None:
    """Upsert the order's lines; lines no longer in it stay, marked not present."""
    existing = {line.lot_id: line for line in order.lines.all()}
    seen = set()
    for snap in _merged(lines):
        seen.add(snap.lot_id)
        line = existing.get(snap.lot_id)
        if line is None:
            OrderLine.objects.create(
                order=order,
                lot_id=snap.lot_id[:64],
                part_number=snap.part_number[:40],
                color_id=snap.color_id,
                condition=snap.condition[:4],
                quantity=snap.quantity,
                unit_price=snap.unit_price,
                item=_item_of(order, snap),
                effect=LineEffect.APPLIED,
            )
            continue
        if (line.quantity, line.present) != (snap.quantity, True):
            line.quantity, line.present = snap.quantity, True
            line.save(update_fields=["quantity", "present"])
    removed = order.lines.exclude(lot_id__in=seen).filter(present=True)
    # Items taken out of an order go back to the lot only if the seller ticked "Return" on
    # BrickLink: read those lots again rather than guess.
    SyncState.objects.filter(provider=order.provider, item_id__in=removed.values("item_id")).update(
        recheck=True
    )
    removed.update(present=False)


def _item_of(order: Order, line: LineSnapshot) -> InventoryItem | None:
    """The item this line was sold from: the one whose lot on the selling marketplace it is
    now, or -- the lot gone or replaced since -- the one our marker in the lot named."""
    state = (
        SyncState.objects.filter(
            provider=order.provider, lot_id=line.lot_id, item__account_id=order.account_id
        )
        .select_related("item")
        .first()
    )
    if state is not None:
        return state.item
    if line.marked_item_id is None:
        return None
    return InventoryItem.objects.filter(pk=line.marked_item_id, account_id=order.account_id).first()


def _needs_attention(order: Order) -> bool:
    """An open or completed order with a line oversold or no item's: the seller must act (a
    cancelled one keeps its lines' record, but there is nothing left to do)."""
    if order.state == OrderState.CANCELLED:
        return False
    return order.lines.filter(
        present=True, effect__in=(LineEffect.OVERSOLD, LineEffect.UNMATCHED)
    ).exists()


def _apply(order: Order) -> None:
    """Move each line's stock to where the order's state says it belongs."""
    lines = list(order.lines.select_related(None).order_by("item_id", "id"))
    item_ids = sorted({line.item_id for line in lines if line.item_id})
    # Locked in one order (ids ascending), as every other writer of items does one at a time.
    items = {
        item.pk: item
        for item in InventoryItem.objects.select_for_update().filter(pk__in=item_ids).order_by("pk")
    }
    for line in lines:
        item = items.get(line.item_id)
        if item is None:
            if line.effect != LineEffect.UNMATCHED:
                line.effect = LineEffect.UNMATCHED
                line.save(update_fields=["effect"])
            continue
        _apply_line(order, line, item)
    for item in items.values():
        _fill_oversold(order, item)


def _apply_line(order: Order, line: OrderLine, item: InventoryItem) -> None:
    wanted_bucket = {
        OrderState.OPEN: Bucket.RESERVED,
        OrderState.COMPLETED: Bucket.SOLD,
        OrderState.CANCELLED: Bucket.NONE,
    }[order.state]
    if not line.present:
        wanted_bucket = Bucket.NONE
    first_sight = not line.counted
    lot_changed = False
    if first_sight:
        # Whatever the order's state when we first see it (even already cancelled), the
        # selling marketplace took the line's quantity off its lot when the buyer ordered.
        lot_changed = _marketplace_took(order, line, item)
        line.counted = True
    if first_sight and wanted_bucket != Bucket.NONE:
        target = min(line.quantity, item.quantity_available)
        line.oversold_quantity = line.quantity - target
        line.effect = LineEffect.OVERSOLD if line.oversold_quantity else LineEffect.APPLIED
    elif wanted_bucket == Bucket.NONE:
        target = 0
    else:
        # What it holds, and what it was short of if stock has come back since (the sale that
        # took those bricks was cancelled, say): never more than the line asks.
        owed = min(line.quantity, line.applied_quantity + line.oversold_quantity)
        target = min(owed, line.applied_quantity + item.quantity_available)
        line.oversold_quantity = owed - target
        line.effect = LineEffect.OVERSOLD if line.oversold_quantity else LineEffect.APPLIED
    moves = {"available": 0, "reserved": 0, "sold": 0}
    if line.applied_quantity:  # give back what it holds, from where it sits
        moves[str(line.applied_bucket)] -= line.applied_quantity
        moves["available"] += line.applied_quantity
    if target:
        moves[str(wanted_bucket)] += target
        moves["available"] -= target
    if any(moves.values()):
        item_move_stock(
            item=item,
            change_type=ChangeType.ORDER,
            reason=f"{order.get_provider_display()} order {order.external_id} ({order.status})",
            **moves,
        )
    elif lot_changed:
        # No stock moved (the order was cancelled before we saw it), but the lot did: put it
        # back to what the item holds.
        sync_schedule([item])
    line.applied_quantity = target
    line.applied_bucket = wanted_bucket if target else Bucket.NONE
    line.save(
        update_fields=[
            "applied_quantity",
            "applied_bucket",
            "effect",
            "oversold_quantity",
            "counted",
        ]
    )


def _marketplace_took(order: Order, line: OrderLine, item: InventoryItem) -> bool:
    """The selling marketplace took the line's quantity off its lot when the buyer ordered:
    move its confirmed quantity with it, so the sync sends it nothing for this. Unless a sync
    of that lot is running, or its last answer came too close to the order to tell whether it
    counted it: then the next sync reads the lot again first (``recheck``). Answers whether
    the lot's state changed."""
    state = SyncState.objects.select_for_update().filter(item=item, provider=order.provider).first()
    if state is None or state.lot_id != line.lot_id or not state.confirmed:
        return False
    now = clock.now()
    margin = timedelta(seconds=settings.ORDERS_CLOCK_MARGIN_SECONDS)
    running = state.claim_token is not None and (
        state.lease_expires_at is None or state.lease_expires_at > now
    )
    confirmed_at = state.confirmed_at
    if running or confirmed_at is None or abs(order.placed_at - confirmed_at) <= margin:
        SyncState.objects.filter(pk=state.pk).update(recheck=True, updated_at=now)
        return True
    if order.placed_at < confirmed_at:
        return False  # the marketplace's answer came after the order: it already counts it
    confirmed = dict(state.confirmed)
    confirmed["quantity"] = max(0, int(confirmed["quantity"]) - line.quantity)
    if confirmed["quantity"] == 0 and order.provider == Provider.BRICKLINK:
        # BrickLink removes a sold-out lot (we never ask it to retain one): there is no lot.
        SyncState.objects.filter(pk=state.pk).update(lot_id="", confirmed=None, updated_at=now)
        return True
    SyncState.objects.filter(pk=state.pk).update(confirmed=confirmed, updated_at=now)
    return True


def _fill_oversold(order: Order, item: InventoryItem) -> None:
    """Stock that came back (a cancellation, a line taken out of an order) goes first to
    other orders' lines that were short of it -- typically a sale we saw before the
    cancellation that had freed its bricks -- oldest order first. An order another ingestion
    holds right now is left to it (its own run tops its lines up the same way)."""
    if item.quantity_available <= 0:
        return
    short = (
        OrderLine.objects.filter(
            item=item,
            present=True,
            oversold_quantity__gt=0,
            order__state__in=(OrderState.OPEN, OrderState.COMPLETED),
            order__history=False,
        )
        .exclude(order=order)
        .order_by("order__placed_at", "order_id")
    )
    for order_id in dict.fromkeys(short.values_list("order_id", flat=True)):
        other = Order.objects.select_for_update(skip_locked=True).filter(pk=order_id).first()
        if other is None:
            continue
        for line in other.lines.filter(item=item, present=True, oversold_quantity__gt=0):
            _apply_line(other, line, item)
        other.needs_attention = _needs_attention(other)
        other.save(update_fields=["needs_attention"])
        if item.quantity_available <= 0:
            return
