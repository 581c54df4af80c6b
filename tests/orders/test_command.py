"""``manage.py sync_orders``: a first import of a store's orders, in this process, against the
sandbox over HTTP."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from core import clock
from inventory.models import MarketplaceConnection
from orders.models import Order
from tests.inventory.conftest import BL, BL_KEY, BO, BO_KEY


def place(store, provider, item, quantity):
    lot = store.state(item, provider).lot_id
    key = BL_KEY if provider == BL else BO_KEY
    lot_id = int(lot) if provider == BL else lot
    return store.sandbox.order_change(
        op="place",
        provider=provider,
        account=key,
        buyer="jane",
        lines=[{"lot_id": lot_id, "quantity": quantity}],
    )["order_id"]


def test_history_is_imported_with_its_items_and_moves_no_stock(store, capsys):
    item = store.create(quantity_available=10)
    store.sync(item)
    place(store, BL, item, 2)
    place(store, BO, item, 1)
    # The stores were followed only from tomorrow: what they sold so far is history.
    MarketplaceConnection.objects.filter(account=store.account).update(
        orders_since=clock.now() + timedelta(days=1)
    )
    call_command("sync_orders", account=store.account.pk)
    orders = Order.objects.filter(account=store.account)
    assert orders.count() == 2
    assert all(order.history for order in orders)
    assert sorted(line.quantity for o in orders for line in o.lines.all()) == [1, 2]
    item.refresh_from_db()
    assert (item.quantity_available, item.quantity_reserved) == (10, 0)
    out = capsys.readouterr().out
    assert "bricklink: 1 order(s) listed, 1 new or changed, 1 stored" in out
    call_command("sync_orders", account=store.account.pk)  # again: nothing new
    assert "0 new or changed" in capsys.readouterr().out


def test_orders_since_the_store_was_followed_move_stock_once(store):
    MarketplaceConnection.objects.filter(account=store.account).update(
        orders_since=clock.now() - timedelta(minutes=5)
    )
    item = store.create(quantity_available=10)
    store.sync(item)
    place(store, BL, item, 3)
    for _ in range(2):
        call_command("sync_orders", account=store.account.pk, provider=BL)
    item.refresh_from_db()
    assert (item.quantity_available, item.quantity_reserved) == (7, 3)
    assert not Order.objects.get().history


def test_bad_input_is_a_clear_error(store):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("sync_orders", account=987654)
    with pytest.raises(CommandError, match="--since takes a date"):
        call_command("sync_orders", "--account", str(store.account.pk), "--since", "yesterday")
    MarketplaceConnection.objects.filter(account=store.account).update(enabled=False)
    with pytest.raises(CommandError, match="no enabled store"):
        call_command("sync_orders", account=store.account.pk)
