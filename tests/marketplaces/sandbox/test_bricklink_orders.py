"""BrickLink orders in the sandbox: placed through /_orders, read through the API."""

from __future__ import annotations

import re

import pytest
import requests

from tests.marketplaces.sandbox.wire import CREDS, TIMEOUT, create_lot, get, meta

ACCOUNT = CREDS["consumer_key"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MONEY = re.compile(r"^\d+\.\d{4}$")


def place(sandbox, *lines, buyer="jane"):
    return sandbox.order_change(
        op="place",
        provider="bricklink",
        account=ACCOUNT,
        buyer=buyer,
        lines=[{"lot_id": lot_id, "quantity": quantity} for lot_id, quantity in lines],
    )


def change(sandbox, op, order_id, **body):
    return sandbox.order_change(
        op=op, provider="bricklink", account=ACCOUNT, order_id=order_id, **body
    )


def refused(sandbox, body) -> requests.Response:
    return sandbox.session.post(f"{sandbox.url}/_orders", json=body, timeout=TIMEOUT)


def data(response):
    assert meta(response)["code"] == 200, response.text
    return response.json()["data"]


def test_placing_takes_the_quantity_off_the_lots_and_removes_sold_out_ones(bl, sandbox):
    kept = create_lot(bl, quantity=5)
    sold_out = create_lot(bl, quantity=2, item={"no": "3003", "type": "PART"})
    retained = create_lot(bl, quantity=1, is_retain=True, unit_price="1.5")
    answer = place(
        sandbox,
        (kept["inventory_id"], 3),
        (sold_out["inventory_id"], 2),
        (retained["inventory_id"], 1),
    )
    assert isinstance(answer["order_id"], int)
    assert (answer["status"], answer["push"]) == ("PENDING", "none")

    lots = {lot["inventory_id"]: lot for lot in data(get(bl, "/inventories"))}
    assert lots[kept["inventory_id"]]["quantity"] == 2
    assert sold_out["inventory_id"] not in lots
    assert lots[retained["inventory_id"]]["quantity"] == 0  # is_retain keeps a sold-out lot
    sales = [e for e in sandbox.ledger() if e["op"] == "order"]
    assert [(e["lot_id"], e["quantity_before"], e["quantity_after"]) for e in sales] == [
        (kept["inventory_id"], 5, 2),
        (sold_out["inventory_id"], 2, 0),
        (retained["inventory_id"], 1, 0),
    ]
    assert [e["fields"]["removed"] for e in sales] == [False, True, False]

    [batch] = data(get(bl, f"/orders/{answer['order_id']}/items"))
    first = batch[0]
    assert first["inventory_id"] == kept["inventory_id"]
    assert first["item"] == {"no": "3001", "name": "Brick 2 x 4", "type": "PART", "categoryID": 5}
    assert (first["color_id"], first["quantity"], first["new_or_used"]) == (11, 3, "N")
    assert first["unit_price"] == "0.1250"
    assert batch[2]["unit_price_final"] == "1.5000"


def test_an_order_asking_more_than_a_lot_holds_changes_nothing(bl, sandbox):
    plenty = create_lot(bl, quantity=9)
    scarce = create_lot(bl, quantity=2)
    before = sandbox.inventory("bricklink", ACCOUNT)
    body = {
        "op": "place",
        "provider": "bricklink",
        "account": ACCOUNT,
        "buyer": "greedy",
        "lines": [
            {"lot_id": plenty["inventory_id"], "quantity": 1},
            {"lot_id": scarce["inventory_id"], "quantity": 3},
        ],
    }
    response = refused(sandbox, body)
    assert response.status_code == 400
    assert f"lot {scarce['inventory_id']} holds 2" in response.json()["error"]
    missing = refused(sandbox, {**body, "lines": [{"lot_id": 1, "quantity": 1}]})
    assert missing.status_code == 404
    for bad in (
        {**body, "lines": []},
        {**body, "lines": [{"lot_id": plenty["inventory_id"], "quantity": 0}]},
        {**body, "lines": [{"lot_id": plenty["inventory_id"]}]},
        {**body, "lines": [{"lot_id": plenty["inventory_id"], "quantity": 1}] * 2},
        {**body, "op": "sell"},
        {**body, "buyer": ""},
        {**body, "typo": 1},
    ):
        assert refused(sandbox, bad).status_code == 400, bad
    assert sandbox.inventory("bricklink", ACCOUNT) == before
    assert data(get(bl, "/orders")) == []
    assert data(get(bl, "/notifications")) == []
    assert sandbox.ledger()[2:] == []  # the two creates only


def test_orders_list_and_view_are_bricklinks_shapes(bl, sandbox):
    lot = create_lot(bl, quantity=10)
    first = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    second = place(sandbox, (lot["inventory_id"], 4), buyer="jane")["order_id"]
    listed = data(get(bl, "/orders", direction="in"))
    assert [order["order_id"] for order in listed] == [second, first]  # newest first
    entry = listed[0]
    assert TIMESTAMP.match(entry["date_ordered"])
    assert TIMESTAMP.match(entry["date_status_changed"])
    assert (entry["total_count"], entry["unique_count"], entry["buyer_name"]) == (4, 1, "jane")
    assert entry["cost"] == {"currency_code": "USD", "subtotal": "0.5000", "grand_total": "0.5000"}
    assert "date_paid" not in entry["payment"]  # null fields are left out
    view = data(get(bl, f"/orders/{second}"))
    assert view["buyer_order_count"] == 2
    assert view["is_filed"] is False
    assert all(MONEY.match(view["cost"][key]) for key in ("subtotal", "grand_total", "shipping"))
    assert data(get(bl, "/orders", direction="out")) == []
    missing = get(bl, "/orders/1")
    assert (missing.status_code, meta(missing)["code"]) == (200, 404)
    assert meta(get(bl, "/orders", direction="up"))["code"] == 400


def test_status_changes_and_cancellation_does_not_restock(bl, sandbox):
    lot = create_lot(bl, quantity=5)
    order_id = place(sandbox, (lot["inventory_id"], 2))["order_id"]
    placed = data(get(bl, f"/orders/{order_id}"))
    assert change(sandbox, "status", order_id, status="paid-pending")["status"] == "PAID-PENDING"
    assert data(get(bl, f"/orders/{order_id}"))["status"] == "PAID-PENDING"
    cancelled = change(sandbox, "cancel", order_id)
    assert cancelled["status"] == "CANCELLED"
    view = data(get(bl, f"/orders/{order_id}"))
    assert view["status"] == "CANCELLED"
    assert view["date_status_changed"] >= placed["date_status_changed"]
    assert data(get(bl, f"/inventories/{lot['inventory_id']}"))["quantity"] == 3
    back = refused(
        sandbox,
        {
            "op": "status",
            "provider": "bricklink",
            "account": ACCOUNT,
            "order_id": order_id,
            "status": "PAID",
        },
    )
    assert back.status_code == 400  # a cancelled order cannot be reinstated
    unknown = refused(
        sandbox,
        {
            "op": "status",
            "provider": "bricklink",
            "account": ACCOUNT,
            "order_id": order_id,
            "status": "LOST",
        },
    )
    assert unknown.status_code == 400
    assert change(sandbox, "status", order_id, status="PURGED")["status"] == "PURGED"
    assert data(get(bl, f"/orders/{order_id}/items")) == []  # purged orders have no items


def test_items_added_later_are_a_second_batch_and_the_order_is_updated(bl, sandbox):
    lot = create_lot(bl, quantity=5)
    other = create_lot(bl, quantity=3, new_or_used="U")
    order_id = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    added = change(
        sandbox, "add", order_id, lines=[{"lot_id": other["inventory_id"], "quantity": 3}]
    )
    assert added["status"] == "UPDATED"
    batches = data(get(bl, f"/orders/{order_id}/items"))
    assert [[item["inventory_id"] for item in batch] for batch in batches] == [
        [lot["inventory_id"]],
        [other["inventory_id"]],
    ]
    assert data(get(bl, "/orders"))[0]["unique_count"] == 2
    assert other["inventory_id"] not in {
        lot["inventory_id"] for lot in data(get(bl, "/inventories"))
    }


def test_notifications_are_the_unread_ones_and_reading_marks_them_read(bl, sandbox):
    lot = create_lot(bl, quantity=5)
    order_id = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    change(sandbox, "status", order_id, status="SHIPPED")
    assert len(sandbox.orders("bricklink", ACCOUNT)["notifications"]) == 2  # not read by this
    notes = data(get(bl, "/notifications"))
    assert [(n["event_type"], n["resource_id"]) for n in notes] == [("Order", order_id)] * 2
    assert all(TIMESTAMP.match(note["timestamp"]) for note in notes)
    assert data(get(bl, "/notifications")) == []
    change(sandbox, "file", order_id, filed=True)  # the seller's own doing: no notification
    assert data(get(bl, "/notifications")) == []
    assert sandbox.calls()["by_endpoint"]["GET /bricklink/notifications"] == 3


def test_filed_orders_and_status_filters(bl, sandbox):
    lot = create_lot(bl, quantity=10)
    pending = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    paid = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    filed = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    change(sandbox, "status", paid, status="PAID-PENDING")
    change(sandbox, "status", filed, status="COMPLETED")
    change(sandbox, "file", filed, filed=True)

    def listed(**params):
        return [order["order_id"] for order in data(get(bl, "/orders", **params))]

    assert listed() == [paid, pending]
    assert listed(filed="true") == [filed]
    assert listed(filed="true", status="completed") == [filed]
    assert listed(status="pending") == [pending]
    assert listed(status="Paid-Pending,PENDING") == [paid, pending]
    assert listed(status="-pending") == [paid]
    assert listed(status="-paid-pending,-pending") == []
    assert meta(get(bl, "/orders", filed="maybe"))["code"] == 400


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        ("/orders", "error_500"),
        ("/orders/{id}", "html_503"),
        ("/orders/{id}/items", "malformed_json"),
        ("/notifications", "http_429"),
    ],
)
def test_faults_hit_the_order_endpoints(bl, sandbox, path, fault):
    lot = create_lot(bl, quantity=5)
    order_id = place(sandbox, (lot["inventory_id"], 1))["order_id"]
    concrete = path.format(id=order_id)
    sandbox.control(
        faults=[{"provider": "bricklink", "path": f"^{re.escape(concrete)}$", fault: 1, "times": 1}]
    )
    response = get(bl, concrete)
    expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
    assert response.status_code == expected[fault]
    if fault == "malformed_json":
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    assert sandbox.calls()["faults"] == {fault: 1}
    assert get(bl, concrete).status_code == 200  # once only
    assert len(data(get(bl, "/notifications"))) == (0 if path == "/notifications" else 1)
