"""An order's stock effects, exactly once: stored and moved in one transaction, computed as
the difference between what each line has moved and what the order's state implies."""

from datetime import timedelta

import pytest

from core import clock
from inventory.models import InventoryHistory, SyncState
from orders.effects import order_record
from orders.models import Order, OrderLine
from orders.snapshots import LineSnapshot, OrderSnapshot
from tests.factories import InventoryItemFactory, SyncStateFactory

pytestmark = pytest.mark.django_db

BL = "bricklink"
BO = "brickowl"


@pytest.fixture(autouse=True)
def no_publishing(monkeypatch):
    from inventory import work as inventory_work

    sent: list = []
    monkeypatch.setattr(inventory_work, "publish_sync", lambda *args, **kw: sent.append(args))
    monkeypatch.setattr(inventory_work, "publish_sweep", lambda: None)
    return sent


def lot_of(item, provider=BL, lot_id=None, quantity=None, confirmed_at=None):
    """The item's lot on ``provider``, as last confirmed."""
    lot_id = lot_id or f"{provider[:2]}-{item.pk}"
    confirmed = (
        {"item_no": item.part_number, "color_id": item.color_id, "new_or_used": "N"}
        if provider == BL
        else {"boid": "x", "color_id": 1, "condition": "new"}
    )
    confirmed["quantity"] = item.quantity_available if quantity is None else quantity
    return SyncStateFactory(
        item=item,
        provider=provider,
        lot_id=lot_id,
        confirmed=confirmed,
        confirmed_at=confirmed_at or clock.now() - timedelta(hours=1),
    )


def snapshot(status="PAID", state="open", lines=(), order_id="1001", provider=BL, **extra):
    now = clock.now()
    return OrderSnapshot(
        provider=provider,
        external_id=order_id,
        status=status,
        state=state,
        placed_at=extra.pop("placed_at", now),
        status_changed_at=now,
        buyer_name="brickfan",
        lines=tuple(lines) if lines is not None else None,
        **extra,
    )


def line(lot, quantity):
    return LineSnapshot(lot_id=lot.lot_id, quantity=quantity, part_number="3001", color_id=11)


def quantities(item):
    item.refresh_from_db()
    return item.quantity_available, item.quantity_reserved, item.quantity_sold


def record(snap, since=None):
    return order_record(account_id=ACCOUNT["id"], snapshot=snap, since=since)


ACCOUNT: dict = {}


@pytest.fixture
def item():
    item = InventoryItemFactory(quantity_available=10)
    ACCOUNT["id"] = item.account_id
    return item


def test_a_new_order_reserves_its_quantity_once_however_often_it_is_seen(item):
    lot = lot_of(item)
    first = record(snapshot(lines=[line(lot, 2)]))
    assert (first.created, first.changed) == (True, True)
    assert quantities(item) == (8, 2, 0)
    for _ in range(3):  # the poll, the notification, a task delivered twice
        again = record(snapshot(lines=[line(lot, 2)]))
        assert (again.created, again.changed) == (False, False)
    assert quantities(item) == (8, 2, 0)
    [history] = InventoryHistory.objects.filter(item=item, change_type="order")
    assert (history.quantity_available_delta, history.quantity_reserved_delta) == (-2, 2)
    assert "BrickLink order 1001" in history.reason
    [order_line] = OrderLine.objects.all()
    assert (order_line.effect, order_line.item_id, order_line.oversold_quantity) == (
        "applied",
        item.pk,
        0,
    )


def test_the_selling_marketplaces_confirmed_quantity_moves_with_the_order(item):
    bricklink, brickowl = lot_of(item), lot_of(item, BO)
    record(snapshot(lines=[line(bricklink, 2)]))
    bricklink.refresh_from_db()
    brickowl.refresh_from_db()
    assert bricklink.confirmed["quantity"] == 8  # BrickLink already took them off
    assert not bricklink.recheck
    assert brickowl.confirmed["quantity"] == 10  # the sync brings BrickOwl down


def test_an_order_too_close_to_the_last_answer_asks_for_a_re_read(item):
    lot = lot_of(item, confirmed_at=clock.now() - timedelta(seconds=3))
    record(snapshot(lines=[line(lot, 2)]))
    lot.refresh_from_db()
    assert lot.recheck
    assert lot.confirmed["quantity"] == 10  # not guessed


def test_an_order_the_last_answer_already_counted_is_not_taken_twice(item):
    lot = lot_of(item, quantity=8, confirmed_at=clock.now())
    record(snapshot(lines=[line(lot, 2)], placed_at=clock.now() - timedelta(minutes=5)))
    lot.refresh_from_db()
    assert (lot.confirmed["quantity"], lot.recheck) == (8, False)


def test_an_order_while_a_sync_runs_asks_for_a_re_read(item):
    lot = lot_of(item)
    SyncState.objects.filter(pk=lot.pk).update(
        claim_token="00000000-0000-0000-0000-000000000001",
        lease_expires_at=clock.now() + timedelta(seconds=30),
    )
    record(snapshot(lines=[line(lot, 2)]))
    lot.refresh_from_db()
    assert (lot.confirmed["quantity"], lot.recheck) == (10, True)


def test_completion_sells_and_cancellation_restocks(item):
    lot = lot_of(item)
    record(snapshot(lines=[line(lot, 3)]))
    record(snapshot(status="SHIPPED", state="completed", lines=None))
    assert quantities(item) == (7, 0, 3)
    record(snapshot(status="CANCELLED", state="cancelled", lines=None))
    assert quantities(item) == (10, 0, 0)
    order = Order.objects.get()
    assert (order.status, order.state) == ("CANCELLED", "cancelled")


def test_two_buyers_taking_the_last_bricks_leave_one_oversold_and_nothing_negative(item):
    item.quantity_available = 3
    item.save()
    bricklink, brickowl = lot_of(item), lot_of(item, BO)
    record(snapshot(lines=[line(bricklink, 3)]))
    record(snapshot(lines=[line(brickowl, 3)], provider=BO, order_id="77"))
    assert quantities(item) == (0, 3, 0)
    sold_twice = Order.objects.get(provider=BO)
    assert sold_twice.needs_attention
    [late] = sold_twice.lines.all()
    assert (late.effect, late.oversold_quantity, late.applied_quantity) == ("oversold", 3, 0)
    assert not Order.objects.get(provider=BL).needs_attention
    # Cancelling the oversold order gives back only what it took: nothing.
    record(snapshot(lines=None, provider=BO, order_id="77", status="Cancelled", state="cancelled"))
    assert quantities(item) == (0, 3, 0)


def test_a_sale_seen_before_the_cancellation_that_freed_its_bricks_gets_them(item):
    """BrickLink's order for the last 3 is cancelled and a BrickOwl buyer takes them; we see
    the BrickOwl order before the cancellation: oversold for a moment, then filled by the
    bricks the cancellation gives back -- not left oversold with the stock idle."""
    item.quantity_available = 3
    item.save()
    bricklink, brickowl = lot_of(item), lot_of(item, BO)
    record(snapshot(lines=[line(bricklink, 3)]))
    record(snapshot(lines=[line(brickowl, 3)], provider=BO, order_id="77", placed_at=clock.now()))
    assert Order.objects.get(provider=BO).needs_attention
    record(snapshot(lines=None, status="CANCELLED", state="cancelled"))
    assert quantities(item) == (0, 3, 0)
    late = Order.objects.get(provider=BO)
    assert not late.needs_attention
    [filled] = late.lines.all()
    assert (filled.effect, filled.oversold_quantity, filled.applied_quantity) == ("applied", 0, 3)
    assert not Order.objects.get(provider=BL).needs_attention
    # Completing it sells what it now holds.
    record(snapshot(lines=None, provider=BO, order_id="77", status="Shipped", state="completed"))
    assert quantities(item) == (0, 0, 3)


def test_a_cancelled_order_needs_no_attention_though_its_record_stays(item):
    item.quantity_available = 1
    item.save()
    bricklink = lot_of(item)
    record(snapshot(lines=[line(bricklink, 3)]))
    order = Order.objects.get()
    assert order.needs_attention
    record(snapshot(lines=None, status="CANCELLED", state="cancelled"))
    order.refresh_from_db()
    assert not order.needs_attention
    assert order.lines.get().oversold_quantity == 2
    assert quantities(item) == (1, 0, 0)


def test_a_line_sold_from_a_lot_no_item_owns_is_unmatched_and_flagged(item):
    record(snapshot(lines=[LineSnapshot(lot_id="999", quantity=1)]))
    order = Order.objects.get()
    assert order.needs_attention
    assert order.lines.get().effect == "unmatched"
    assert quantities(item) == (10, 0, 0)


def test_an_updated_order_that_dropped_a_line_gives_its_stock_back(item):
    other = InventoryItemFactory(account=item.account, quantity_available=5)
    lot, other_lot = lot_of(item), lot_of(other)
    record(snapshot(lines=[line(lot, 2), line(other_lot, 1)]))
    record(snapshot(status="UPDATED", lines=[line(lot, 2)]))
    assert quantities(item) == (8, 2, 0)
    assert quantities(other) == (5, 0, 0)
    other_lot.refresh_from_db()
    assert not OrderLine.objects.get(lot_id=other_lot.lot_id).present


def test_an_order_placed_before_the_store_was_followed_is_history(item):
    lot = lot_of(item)
    since = clock.now()
    record(snapshot(lines=[line(lot, 2)], placed_at=since - timedelta(days=3)), since=since)
    record(snapshot(status="SHIPPED", state="completed", lines=None), since=since)
    assert quantities(item) == (10, 0, 0)
    assert Order.objects.get().history


def test_an_unknown_status_keeps_the_orders_state_and_stock(item, caplog):
    lot = lot_of(item)
    record(snapshot(lines=[line(lot, 2)]))
    record(snapshot(status="SOMETHING-NEW", state=None, lines=None))
    order = Order.objects.get()
    assert (order.status, order.state) == ("SOMETHING-NEW", "open")
    assert quantities(item) == (8, 2, 0)
    assert "do not know" in caplog.text
