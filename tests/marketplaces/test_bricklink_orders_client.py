"""The BrickLink client's orders and notifications: HTTP stubbed at the adapter (``responses``),
with bodies shaped like BrickLink's (docs/marketplace-formats.md sections 1 and 2)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from marketplaces.bricklink import (
    BrickLinkClient,
    BrickLinkNotification,
    BrickLinkOrder,
    BrickLinkOrderItem,
    Credentials,
)
from marketplaces.errors import AuthError, NotFound, TransientError
from marketplaces.http import HttpConfig

BASE = "https://bl.test/api/store/v1"
CREDS = Credentials("ck-unit", "cs-unit-secret", "tv-unit", "ts-unit-secret")


@pytest.fixture
def client():
    return BrickLinkClient(CREDS, base_url=BASE, http=HttpConfig(read_timeout=2, deadline=5))


def envelope(code=200, data=None, message="OK", description="OK"):
    body = {"meta": {"code": code, "message": message, "description": description}}
    if data is not None:
        body["data"] = data
    return json.dumps(body)


def stub(path, body, status=200):
    # BrickLink labels its JSON text/html.
    responses.add("GET", BASE + path, body=body, status=status, content_type="text/html")


def summary(order_id, status, **extra):
    return {
        "order_id": order_id,
        "date_ordered": "2025-07-01T09:15:02.123Z",
        "date_status_changed": "2025-07-02T10:00:00.000Z",
        "seller_name": "brickseller",
        "store_name": "Brick Seller",
        "buyer_name": "Jane &amp; Co",
        "total_count": 3,
        "unique_count": 2,
        "status": status,
        "payment": {"method": "PayPal", "currency_code": "USD", "status": "None"},
        "cost": {"currency_code": "USD", "subtotal": "1.2500", "grand_total": "1.2500"},
        **extra,
    }


@responses.activate
def test_bricklink_orders_keep_every_status_word_uppercased(client):
    stub(
        "/orders",
        envelope(
            data=[
                summary(21000003, "PAID-PENDING"),
                summary("21000002", "pending"),
                summary(21000001, "PARTLY-REFUNDED"),
            ]
        ),
    )
    orders = client.orders()
    assert [order.status for order in orders] == ["PAID-PENDING", "PENDING", "PARTLY-REFUNDED"]
    assert [order.order_id for order in orders] == ["21000003", "21000002", "21000001"]
    first = orders[0]
    assert first == BrickLinkOrder(
        order_id="21000003",
        date_ordered=datetime(2025, 7, 1, 9, 15, 2, 123000, tzinfo=UTC),
        date_status_changed=datetime(2025, 7, 2, 10, 0, tzinfo=UTC),
        buyer_name="Jane & Co",
        status="PAID-PENDING",
    )
    assert first.date_ordered.utcoffset().total_seconds() == 0
    # filed=false is BrickLink's default: not sent unless asked for.
    assert responses.calls[0].request.params == {"direction": "in"}


@responses.activate
def test_bricklink_orders_send_filed_and_the_status_list_only_when_asked(client):
    stub("/orders", envelope(data=[]))
    assert client.orders(filed=True, status="pending,-purged") == []
    assert responses.calls[0].request.params == {
        "direction": "in",
        "filed": "true",
        "status": "pending,-purged",
    }
    with pytest.raises(ValueError, match="direction"):
        client.orders(direction="sideways")


@responses.activate
def test_bricklink_order_reads_the_resource_and_fills_a_missing_date(client):
    stub(
        "/orders/21000001",
        envelope(
            data={
                "order_id": 21000001,
                "date_ordered": "2025-07-01T09:15:02.123Z",
                "buyer_name": "jane",
                "buyer_order_count": 2,
                "status": "Shipped",
                "is_filed": False,
                "cost": {"currency_code": "USD", "subtotal": "10.1210", "grand_total": "12.1210"},
            }
        ),
    )
    order = client.order("21000001")
    assert order.status == "SHIPPED"
    assert order.date_status_changed == order.date_ordered  # summaries may lack it


@responses.activate
def test_bricklink_order_items_flatten_the_batches_and_ignore_either_category_key(client):
    def item(inventory_id, category, **extra):
        return {
            "inventory_id": inventory_id,
            "item": {"no": "3001", "name": "Brick 2 x 4", "type": "PART", **category},
            "color_id": 11,
            "color_name": "Black",
            "quantity": 2,
            "new_or_used": "N",
            "unit_price": "0.1250",
            "unit_price_final": "0.1000",
            "currency_code": "USD",
            "remarks": "A-12",
            "description": "",
            **extra,
        }

    stub(
        "/orders/21000001/items",
        envelope(
            data=[
                [item(101, {"categoryID": 5}), item(102, {"category_id": 5}, color_id="5")],
                [item(103, {}, quantity="4", new_or_used="u", unit_price="1.5")],
            ]
        ),
    )
    items = client.order_items("21000001")
    assert [line.inventory_id for line in items] == [101, 102, 103]
    assert items[0] == BrickLinkOrderItem(
        inventory_id=101,
        item_no="3001",
        item_type="PART",
        color_id=11,
        quantity=2,
        new_or_used="N",
        unit_price=Decimal("0.1250"),
        remarks="A-12",  # the lot's private remarks, where our marker travels
    )
    assert (items[1].color_id, items[2].quantity, items[2].new_or_used) == (5, 4, "U")
    assert items[2].unit_price == Decimal("1.5")


@responses.activate
def test_bricklink_order_items_of_a_purged_order_are_none(client):
    stub("/orders/1/items", envelope(data=[]))
    stub("/orders/2/items", envelope())  # no data at all
    assert client.order_items("1") == []
    assert client.order_items("2") == []


@responses.activate
def test_bricklink_notifications_normalise_the_event_type(client):
    stub(
        "/notifications",
        envelope(
            data=[
                {
                    "event_type": "Order",
                    "resource_id": 21000001,
                    "timestamp": "2013-12-17T08:20:02.177Z",
                },
                {
                    "event_type": "MESSAGE",
                    "resource_id": "4477",
                    "timestamp": "2013-12-17T08:21:00.000Z",
                },
                {"event_type": "feedback", "resource_id": 99},
                {"event_type": "invoice", "resource_id": 7, "timestamp": "not a date"},
            ]
        ),
    )
    notes = client.notifications()
    assert notes[0] == BrickLinkNotification(
        event_type="Order",
        resource_id="21000001",
        timestamp=datetime(2013, 12, 17, 8, 20, 2, 177000, tzinfo=UTC),
    )
    assert [note.event_type for note in notes] == ["Order", "Message", "Feedback", "Invoice"]
    assert [note.resource_id for note in notes] == ["21000001", "4477", "99", "7"]
    assert (notes[2].timestamp, notes[3].timestamp) == (None, None)


@responses.activate
def test_bricklink_order_errors_arrive_with_http_200_and_are_classified(client):
    stub(
        "/orders/5",
        envelope(code=404, message="RESOURCE_NOT_FOUND", description="The order does not exist"),
    )
    stub(
        "/notifications",
        envelope(code=401, message="BAD_OAUTH_REQUEST", description="SIGNATURE_INVALID: no"),
    )
    stub("/orders", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", 503)
    with pytest.raises(NotFound) as missing:
        client.order("5")
    assert (missing.value.http_status, missing.value.meta_code) == (200, 404)
    with pytest.raises(AuthError):
        client.notifications()
    with pytest.raises(TransientError, match="gateway page"):
        client.orders()


@pytest.mark.parametrize(
    ("path", "data", "call"),
    [
        ("/orders", {"order_id": 1}, lambda c: c.orders()),  # an object for a list
        ("/orders", [summary(None, "PAID")], lambda c: c.orders()),  # no order id
        (
            "/orders",
            [summary(1, "PAID", date_ordered="yesterday", date_status_changed=None)],
            lambda c: c.orders(),
        ),
        ("/orders/1/items", [["not an item"]], lambda c: c.order_items("1")),
        (
            "/orders/1/items",
            [[{"item": {"no": "3001"}, "quantity": 1}]],
            lambda c: c.order_items("1"),
        ),
        (
            "/orders/1/items",
            [[{"inventory_id": 1, "quantity": "Infinity"}]],
            lambda c: c.order_items("1"),
        ),
        ("/orders/1", [1, 2], lambda c: c.order("1")),
        ("/notifications", [{"event_type": "Order"}], lambda c: c.notifications()),
        ("/notifications", "unread", lambda c: c.notifications()),
    ],
)
@responses.activate
def test_bricklink_malformed_order_answers_are_transient_errors(client, path, data, call):
    stub(path, envelope(data=data))
    with pytest.raises(TransientError, match="malformed"):
        call(client)
