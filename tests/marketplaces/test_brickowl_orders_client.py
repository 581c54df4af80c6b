"""The BrickOwl client's orders, and its lots' BOIDs: HTTP stubbed at the adapter (``responses``),
with bodies shaped like BrickOwl's (docs/marketplace-formats.md section 4)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from marketplaces.brickowl import (
    BrickOwlClient,
    BrickOwlOrder,
    BrickOwlOrderItem,
    BrickOwlOrderSummary,
)
from marketplaces.errors import NotFound, TransientError
from marketplaces.http import HttpConfig

BASE = "https://owl.test/v1"
KEY = "owl-unit-secret-key"

# Real answers (BrickSync's brickowl.c keeps them as comments).
LIST = [
    {
        "order_id": "9277759",
        "order_date": "1398955037",
        "total_quantity": "105",
        "total_lots": "25",
        "base_order_total": "23.87",
        "status": "Processing",
        "status_id": "3",
    },
    {
        "order_id": "3506238",
        "order_date": "1398775922",
        "total_quantity": "83",
        "total_lots": "21",
        "base_order_total": "8.47",
        "status": "Shipped",
        "status_id": "5",
    },
]
VIEW = {
    "order_id": "3506238",
    "order_time": "1398775922",
    "processed_time": None,
    "iso_order_time": "2014-04-29T13:52:02+01:00",
    "store_id": "907",
    "status": "Processing",
    "status_id": "3",
    "total_quantity": "83",
    "base_order_total": "8.47",
    "buyer_name": "Francois Angers",
    "affiliate_fee": 0.15425,
    "brickowl_fee": 0.15425,
    "tracking_number": None,
}
ITEM = {
    "image_small": "//img.brickowl.com/files/image_cache/small/lego-black-tile-487300-38.png",
    "condition": "New",
    "name": "LEGO Black Tile 1 x 2 with Groove (3069)",
    "boid": "487300-38",
    "personal_note": "B02",
    "bl_lot_id": "55984791",
    "external_lot_ids": {"other": "55984791"},
    "remaining_quantity": "79",
    "weight": "0.260",
    "public_note": "",
    "ordered_quantity": "1",
    "order_item_id": "433711",
    "base_price": "0.104",
    "color_name": "Black",
    "color_id": "38",
    "lot_id": "2726913",
    "ids": [{"id": "3069", "type": "design_id"}, {"id": "487300-38", "type": "boid"}],
}


@pytest.fixture
def client():
    return BrickOwlClient(KEY, base_url=BASE, http=HttpConfig(read_timeout=2, deadline=5))


@responses.activate
def test_brickowl_orders_parse_the_real_list_and_send_the_defaults(client):
    responses.add("GET", BASE + "/order/list", json=LIST)
    orders = client.orders()
    assert orders[1] == BrickOwlOrderSummary(
        order_id="3506238",
        placed_at=datetime.fromtimestamp(1398775922, UTC),
        status="Shipped",
        status_id=5,
    )
    assert orders[0].placed_at.tzinfo is UTC
    assert responses.calls[0].request.params == {
        "limit": "5000",
        "list_type": "store",
        "sort_by": "updated",
        "key": KEY,
    }


@responses.activate
def test_brickowl_orders_pass_the_filters_when_given(client):
    responses.add("GET", BASE + "/order/list", json=[])
    responses.add("GET", BASE + "/order/list", json={})  # PHP's empty array may be an object
    client.orders(order_time=1398775922, limit=50, sort_by="created", status="Shipped")
    assert client.orders(status="5") == []
    assert responses.calls[0].request.params == {
        "order_time": "1398775922",
        "limit": "50",
        "list_type": "store",
        "sort_by": "created",
        "status": "Shipped",
        "key": KEY,
    }
    for bad in ({"limit": 0}, {"limit": 5001}, {"list_type": "all"}, {"sort_by": "price"}):
        with pytest.raises(ValueError, match="must be"):
            client.orders(**bad)


@responses.activate
def test_brickowl_order_entries_accept_order_time_and_a_missing_status_id(client):
    responses.add(
        "GET",
        BASE + "/order/list",
        json=[
            {"order_id": 11, "order_time": "1398775922", "status": "cancelled"},
            {"order_id": "12", "order_date": "1398775922", "status": "Lost In Space"},
            {"order_id": "13", "order_date": "1398775922", "status_id": "7"},
        ],
    )
    orders = client.orders()
    assert [(o.order_id, o.status, o.status_id) for o in orders] == [
        ("11", "cancelled", 8),
        ("12", "Lost In Space", -1),
        ("13", "On Hold", 7),
    ]


@responses.activate
def test_brickowl_order_view_and_the_buyer_fallback(client):
    responses.add("GET", BASE + "/order/view", json=VIEW)
    responses.add(
        "GET",
        BASE + "/order/view",
        json={**VIEW, "buyer_name": "", "customer_username": "fangers", "order_time": 1398775922},
    )
    assert client.order("3506238") == BrickOwlOrder(
        order_id="3506238",
        placed_at=datetime.fromtimestamp(1398775922, UTC),
        status="Processing",
        status_id=3,
        buyer_name="Francois Angers",
    )
    assert client.order("3506238").buyer_name == "fangers"
    assert responses.calls[0].request.params == {"order_id": "3506238", "key": KEY}


@responses.activate
def test_brickowl_order_items_split_the_boid_and_read_the_condition(client):
    responses.add(
        "GET",
        BASE + "/order/items",
        json=[
            ITEM,
            {
                **ITEM,
                "boid": "306255-64",
                "color_id": None,
                "condition": "Used (Like New)",
                "external_lot_ids": [],
                "lot_id": 2726914,
                "ordered_quantity": "3",
                "base_price": "1.5",
            },
            {**ITEM, "boid": "771344", "full_con": "usedg", "condition": "Used (Good)"},
        ],
    )
    first, second, third = client.order_items("3506238")
    assert first == BrickOwlOrderItem(
        lot_id="2726913",
        boid="487300",
        color_id=38,
        condition="new",
        quantity=1,
        unit_price=Decimal("0.104"),
        external_id="55984791",
    )
    assert (second.boid, second.color_id, second.condition) == ("306255", 64, "used")
    assert (second.lot_id, second.quantity, second.external_id) == ("2726914", 3, None)
    assert (third.boid, third.color_id, third.condition) == ("771344", 38, "usedg")


@responses.activate
def test_brickowl_listed_lots_split_the_boid_when_there_is_no_color_id(client):
    responses.add(
        "GET",
        BASE + "/inventory/list",
        json=[
            {
                "con": "new",
                "full_con": "new",
                "qty": "12",
                "lot_id": "2726773",
                "price": "0.720",
                "for_sale": "1",
                "boid": "306255-64",
                "external_lot_ids": {"other": "55984821"},
                "type": "Part",
            },
            {
                "con": "used",
                "full_con": "usedn",
                "qty": "0",
                "lot_id": "2726774",
                "price": "12.000",
                "for_sale": "1",
                "boid": "771344",
                "external_lot_ids": [],
                "type": "Set",
            },
        ],
    )
    part, kit = client.inventory_list()
    assert (part.boid, part.color_id, part.external_id) == ("306255", 64, "55984821")
    assert (kit.boid, kit.color_id, kit.external_id, kit.quantity) == ("771344", None, None, 0)


@responses.activate
def test_brickowl_order_errors_and_malformed_answers(client):
    responses.add("GET", BASE + "/order/view", status=404, json={"error": "Order not found"})
    responses.add("GET", BASE + "/order/list", json={"error": "Invalid status"})
    responses.add("GET", BASE + "/order/items", json=[{**ITEM, "ordered_quantity": "lots"}])
    responses.add("GET", BASE + "/order/items", json=[{**ITEM, "lot_id": None}])
    responses.add("GET", BASE + "/order/items", json=[{**ITEM, "base_price": "NaN"}])
    responses.add("GET", BASE + "/order/view", json={**VIEW, "order_time": "soon"})
    responses.add("GET", BASE + "/order/view", json=[VIEW])
    with pytest.raises(NotFound, match="Order not found"):
        client.order("1")
    with pytest.raises(TransientError, match="malformed"):
        client.orders()
    for _ in range(3):
        with pytest.raises(TransientError, match="malformed"):
            client.order_items("1")
    for _ in range(2):
        with pytest.raises(TransientError, match="malformed"):
            client.order("1")
