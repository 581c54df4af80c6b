"""The clients' orders and notifications over real HTTP against the sandbox process."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketplaces.bricklink import BrickLinkClient, Credentials, NewLot
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import NotFound, TransientError
from marketplaces.http import HttpConfig
from marketplaces.sandbox.catalog import build_catalog
from tests.harness import SandboxProcess

FAST = HttpConfig(connect_timeout=1, read_timeout=1.0, deadline=5)
CREDS = Credentials(**SandboxProcess.BRICKLINK_CREDENTIALS)
OWL_KEY = SandboxProcess.BRICKOWL_KEY
CATALOG = build_catalog(1)


@pytest.fixture
def bricklink(sandbox) -> BrickLinkClient:
    return BrickLinkClient(CREDS, base_url=sandbox.bricklink_url, http=FAST)


@pytest.fixture
def brickowl(sandbox) -> BrickOwlClient:
    return BrickOwlClient(OWL_KEY, base_url=sandbox.brickowl_url, http=FAST)


def place(sandbox, provider, account, *lines, buyer="jane") -> dict:
    return sandbox.order_change(
        op="place",
        provider=provider,
        account=account,
        buyer=buyer,
        lines=[{"lot_id": lot_id, "quantity": quantity} for lot_id, quantity in lines],
    )


def test_bricklink_client_reads_orders_items_and_notifications(bricklink, sandbox):
    started = datetime.now(UTC) - timedelta(seconds=1)
    brick = bricklink.inventory_create(NewLot("3001", 11, 5, "N", Decimal("0.125")))
    plate = bricklink.inventory_create(NewLot("3003", 11, 2, "U", Decimal("1.5")))
    key = CREDS.consumer_key
    order_id = str(place(sandbox, "bricklink", key, (brick.inventory_id, 2))["order_id"])
    sandbox.order_change(
        op="add",
        provider="bricklink",
        account=key,
        order_id=order_id,
        lines=[{"lot_id": plate.inventory_id, "quantity": 2}],
    )
    sandbox.order_change(
        op="status", provider="bricklink", account=key, order_id=order_id, status="paid-pending"
    )

    [listed] = bricklink.orders()
    assert listed == bricklink.order(order_id)
    assert (listed.order_id, listed.status, listed.buyer_name) == (order_id, "PAID-PENDING", "jane")
    assert started <= listed.date_ordered <= listed.date_status_changed
    assert listed.date_ordered.tzinfo is UTC
    items = bricklink.order_items(order_id)
    assert [(i.inventory_id, i.item_no, i.color_id, i.quantity, i.new_or_used) for i in items] == [
        (brick.inventory_id, "3001", 11, 2, "N"),
        (plate.inventory_id, "3003", 11, 2, "U"),
    ]
    assert [item.unit_price for item in items] == [Decimal("0.1250"), Decimal("1.5000")]
    assert bricklink.inventory_get(brick.inventory_id).quantity == 3
    with pytest.raises(NotFound):
        bricklink.inventory_get(plate.inventory_id)  # sold out: gone

    notes = bricklink.notifications()
    assert [(n.event_type, n.resource_id) for n in notes] == [("Order", order_id)] * 3
    assert all(note.timestamp is not None for note in notes)
    assert bricklink.notifications() == []


def test_bricklink_client_filters_and_errors(bricklink, sandbox):
    lot = bricklink.inventory_create(NewLot("3001", 11, 9, "N", Decimal("0.125")))
    key = CREDS.consumer_key
    done = str(place(sandbox, "bricklink", key, (lot.inventory_id, 1))["order_id"])
    open_ = str(place(sandbox, "bricklink", key, (lot.inventory_id, 1))["order_id"])
    sandbox.order_change(
        op="status", provider="bricklink", account=key, order_id=done, status="COMPLETED"
    )
    sandbox.order_change(op="file", provider="bricklink", account=key, order_id=done, filed=True)
    assert [order.order_id for order in bricklink.orders()] == [open_]
    assert [order.order_id for order in bricklink.orders(filed=True)] == [done]
    assert bricklink.orders(status="-pending") == []
    assert bricklink.orders(direction="out") == []
    with pytest.raises(NotFound):
        bricklink.order("1")
    sandbox.control(faults=[{"provider": "bricklink", "path": "^/orders", "error_500": 1}])
    with pytest.raises(TransientError) as caught:
        bricklink.orders()
    assert caught.value.retryable


def test_brickowl_lots_read_back_with_the_boid_and_color_they_were_created_with(brickowl):
    boid = CATALOG.item("PART", "3001").boid
    color = int(CATALOG.colors[11].brickowl_id)
    lot_id = brickowl.inventory_create(
        boid=boid,
        color_id=color,
        quantity=4,
        price=Decimal("0.125"),
        condition="usedn",
        external_id="brickops-7",
    )
    [lot] = brickowl.inventory_list(external_id="brickops-7")
    assert (lot.lot_id, lot.boid, lot.color_id, lot.condition) == (lot_id, boid, color, "usedn")
    brickowl.inventory_create(
        boid=boid, color_id=color, quantity=1, price=Decimal(1), condition="new", external_id=""
    )
    assert [lot.external_id for lot in brickowl.inventory_list()] == ["brickops-7", None]


def test_brickowl_client_reads_orders_and_their_items(brickowl, sandbox):
    boid = CATALOG.item("PART", "3001").boid
    color = int(CATALOG.colors[11].brickowl_id)
    lot_id = brickowl.inventory_create(
        boid=boid,
        color_id=color,
        quantity=4,
        price=Decimal("0.125"),
        condition="usedn",
        external_id="brickops-7",
    )
    since = int(datetime.now(UTC).timestamp()) - 1
    order_id = place(sandbox, "brickowl", OWL_KEY, (lot_id, 4), buyer="Francois Angers")["order_id"]
    [summary] = brickowl.orders(order_time=since)
    assert (summary.order_id, summary.status, summary.status_id) == (order_id, "Pending", 0)
    assert summary.placed_at.timestamp() >= since
    order = brickowl.order(order_id)
    assert (order.buyer_name, order.placed_at) == ("Francois Angers", summary.placed_at)
    [item] = brickowl.order_items(order_id)
    assert (item.lot_id, item.boid, item.color_id, item.condition) == (lot_id, boid, color, "usedn")
    assert (item.quantity, item.unit_price, item.external_id) == (4, Decimal("0.125"), "brickops-7")
    [lot] = brickowl.inventory_list(lot_id=lot_id)
    assert lot.quantity == 0  # sold out, kept

    sandbox.order_change(op="cancel", provider="brickowl", account=OWL_KEY, order_id=order_id)
    assert brickowl.order(order_id).status_id == 8
    assert [o.order_id for o in brickowl.orders(status="Cancelled", sort_by="created")] == [
        order_id
    ]
    assert brickowl.inventory_list(lot_id=lot_id)[0].quantity == 0  # not restocked
    with pytest.raises(NotFound):
        brickowl.order("1")
    with pytest.raises(NotFound):
        brickowl.order_items("1")
