"""A sale on one marketplace reaches the other: real worker, the sandbox over HTTP, and the
sandbox's pushes reaching this test's live server (a BrickLink callback, a BrickOwl order
notification)."""

from __future__ import annotations

import time

import pytest

from core import clock
from inventory.models import InventoryHistory, InventoryItem, MarketplaceConnection
from inventory.services import item_create
from orders.feed import feed_run
from orders.models import Order, OrderFeed
from orders.services import feeds_due
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import wait_for
from tests.inventory.scenario import BL_KEY, BO_KEY, connect, settled, stores

pytestmark = pytest.mark.worker

BL, BO = "bricklink", "brickowl"


@pytest.fixture
def shop(worker, sandbox, live_server):
    """An account selling on both stores, whose pushes reach the live server."""
    account = AccountFactory()
    connect(account)
    owner = MembershipFactory(account=account, role="owner").user
    urls = {}
    for provider, key in ((BL, BL_KEY), (BO, BO_KEY)):
        connection = MarketplaceConnection.objects.get(account=account, provider=provider)
        connection.callback_secret = f"{provider}-push-secret-for-tests-{account.pk:08d}-abcdefgh"
        connection.orders_since = clock.now()
        connection.save()
        urls[key] = f"{live_server.url}/api/v1/hooks/{provider}/{connection.callback_secret}/"
    sandbox.control(push_urls=urls)

    class Shop:
        def item(self, quantity=10, **data):
            item = item_create(
                account=account,
                actor=owner,
                data={
                    "part_number": "3001",
                    "color_id": 11,
                    "condition": "new",
                    "quantity_available": quantity,
                    "price": "0.1000",
                    **data,
                },
            )
            wait_for(settled, message="the item to reach both stores")
            return item

        def lots(self, item):
            bricklink, brickowl = stores(sandbox)
            return bricklink.get(item.id), brickowl.get(item.id)

        def buy(self, provider, item, quantity, buyer="jane"):
            bricklink, brickowl = self.lots(item)
            lot_id = bricklink["inventory_id"] if provider == BL else brickowl["lot_id"]
            key = BL_KEY if provider == BL else BO_KEY
            placed = sandbox.order_change(
                op="place",
                provider=provider,
                account=key,
                buyer=buyer,
                lines=[{"lot_id": lot_id, "quantity": quantity}],
            )
            return str(placed["order_id"])

        def poll(self):
            """What beat does every ORDERS_POLL_SECONDS."""
            feeds_due(connections=MarketplaceConnection.objects.filter(account=account), poll=True)

    shop = Shop()
    shop.account = account
    return shop


def quantities(item):
    item.refresh_from_db()
    return item.quantity_available, item.quantity_reserved, item.quantity_sold


def updates_of(sandbox, provider, lot_id):
    return [
        entry
        for entry in sandbox.ledger()
        if entry["provider"] == provider
        and entry["op"] == "update"
        and str(entry["lot_id"]) == str(lot_id)
    ]


@pytest.mark.parametrize(("seller", "other"), [(BL, BO), (BO, BL)])
def test_a_sale_reaches_the_other_store_through_the_push_and_not_back(shop, sandbox, seller, other):
    item = shop.item(quantity=10)
    bricklink, brickowl = shop.lots(item)
    selling_lot = bricklink["inventory_id"] if seller == BL else brickowl["lot_id"]
    before = len(updates_of(sandbox, seller, selling_lot))
    started = time.monotonic()
    shop.buy(seller, item, 2)
    wait_for(
        lambda: quantities(item) == (8, 2, 0) and settled(),
        timeout=30,
        message="the order to be applied and synced",
    )
    seconds = time.monotonic() - started
    bricklink, brickowl = shop.lots(item)
    assert bricklink["quantity"] == 8
    assert brickowl["qty"] == "8"
    # The selling store took the bricks off itself: no quantity call went back there.
    assert len(updates_of(sandbox, seller, selling_lot)) == before
    assert updates_of(
        sandbox, other, (brickowl["lot_id"] if other == BO else bricklink["inventory_id"])
    )
    order = Order.objects.get(account=shop.account)
    assert (order.provider, order.state, order.needs_attention) == (seller, "open", False)
    [line] = order.lines.all()
    assert (line.item_id, line.quantity, line.effect) == (item.id, 2, "applied")
    assert seconds < 30  # bounded by the wait above; the benchmark measures it (bench/orders.py)


def test_without_a_push_the_next_poll_brings_the_order(shop, sandbox):
    sandbox.control(push_enabled=False)
    item = shop.item(quantity=10)
    shop.buy(BL, item, 3)
    time.sleep(1)
    assert quantities(item) == (10, 0, 0)  # nothing told us yet
    shop.poll()
    wait_for(lambda: quantities(item) == (7, 3, 0) and settled(), timeout=30, message="the poll")
    assert shop.lots(item)[1]["qty"] == "7"


def test_one_order_seen_by_poll_push_and_a_duplicate_task_moves_stock_once(shop, sandbox):
    item = shop.item(quantity=10)
    order_id = shop.buy(BO, item, 4)
    wait_for(lambda: quantities(item) == (6, 4, 0), timeout=30, message="the push")
    shop.poll()
    feed = OrderFeed.objects.get(account=shop.account, provider=BO)
    feeds_due(
        connections=MarketplaceConnection.objects.filter(account=shop.account, provider=BO),
        order_ids=[order_id],
    )
    for _ in range(2):  # the same message delivered twice, run here beside the worker
        feed_run(feed_id=feed.pk)
    wait_for(lambda: not OrderFeed.objects.filter(status="due").exists(), timeout=30)
    wait_for(settled, message="the syncs")
    assert quantities(item) == (6, 4, 0)
    assert InventoryHistory.objects.filter(item=item, change_type="order").count() == 1
    assert Order.objects.filter(account=shop.account).count() == 1


def test_shipping_sells_and_cancelling_restocks_both_stores(shop, sandbox):
    item = shop.item(quantity=10)
    order_id = shop.buy(BL, item, 2)
    wait_for(lambda: quantities(item) == (8, 2, 0) and settled(), timeout=30)
    sandbox.order_change(
        op="status", provider=BL, account=BL_KEY, order_id=int(order_id), status="SHIPPED"
    )
    wait_for(lambda: quantities(item) == (8, 0, 2), timeout=30, message="shipped: sold")
    other = shop.buy(BL, item, 3)
    wait_for(lambda: quantities(item) == (5, 3, 2) and settled(), timeout=30)
    sandbox.order_change(op="cancel", provider=BL, account=BL_KEY, order_id=int(other))
    wait_for(
        lambda: quantities(item) == (8, 0, 2) and settled(),
        timeout=30,
        message="the cancellation restocked",
    )
    bricklink, brickowl = shop.lots(item)
    # Neither marketplace restocks by itself: we did, on both, the selling one included.
    assert (bricklink["quantity"], brickowl["qty"]) == (8, "8")


def test_two_buyers_taking_the_last_bricks_on_both_stores(shop, sandbox):
    item = shop.item(quantity=3)
    sandbox.control(push_enabled=False)  # both sales land before we hear of either
    shop.buy(BL, item, 3, buyer="first")
    shop.buy(BO, item, 3, buyer="second")
    shop.poll()
    wait_for(
        lambda: Order.objects.filter(account=shop.account).count() == 2 and settled(),
        timeout=30,
        message="both orders",
    )
    assert quantities(item) == (0, 3, 0)  # never negative
    effects = sorted(
        (line.effect, line.oversold_quantity)
        for order in Order.objects.filter(account=shop.account)
        for line in order.lines.all()
    )
    assert effects == [("applied", 0), ("oversold", 3)]
    assert Order.objects.filter(account=shop.account, needs_attention=True).count() == 1
    item = InventoryItem.objects.get(pk=item.pk)
    assert item.listed_quantity == 0
