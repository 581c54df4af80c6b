"""BrickOwl orders in the sandbox, and its lots' BOIDs as the real list shows them."""

from __future__ import annotations

import time

import pytest
import requests

from marketplaces.sandbox.catalog import build_catalog
from tests.marketplaces.sandbox.wire import OWL_KEY, TIMEOUT, get, owl_create, owl_post

CATALOG = build_catalog(1)
BOID = CATALOG.item("PART", "3001").boid
COLOR = CATALOG.colors[11].brickowl_id


def place(sandbox, *lines, buyer="Francois Angers"):
    return sandbox.order_change(
        op="place",
        provider="brickowl",
        account=OWL_KEY,
        buyer=buyer,
        lines=[{"lot_id": lot_id, "quantity": quantity} for lot_id, quantity in lines],
    )


def lot_of(owl, lot_id) -> dict:
    [lot] = get(owl, "/inventory/list", key=OWL_KEY, lot_id=lot_id).json()
    return lot


def test_listed_lots_carry_the_color_in_the_boid_and_empty_external_ids_as_a_list(owl):
    ours = owl_create(owl, external_id="brickops-5")
    theirs = owl_create(owl, external_id="", condition="usedn")
    lot = lot_of(owl, ours)
    assert lot["boid"] == f"{BOID}-{COLOR}"
    assert "color_id" not in lot
    assert lot["external_lot_ids"] == {"other": "brickops-5"}
    assert lot_of(owl, theirs)["external_lot_ids"] == []
    assert owl_post(owl, "update", external_id="brickops-5", absolute_quantity="4").ok
    assert lot_of(owl, ours)["qty"] == "4"


def test_placing_takes_the_quantity_off_and_keeps_sold_out_lots_at_zero(owl, sandbox):
    first = owl_create(owl, quantity="5")
    second = owl_create(owl, quantity="2", external_id="brickops-2", condition="usedn")
    answer = place(sandbox, (first, 3), (second, 2))
    assert isinstance(answer["order_id"], str)
    assert answer["order_id"].isdigit()
    assert (answer["status"], answer["status_id"], answer["push"]) == ("Pending", 0, "none")
    assert lot_of(owl, first)["qty"] == "2"
    assert lot_of(owl, second)["qty"] == "0"  # kept, empty
    sales = [(e["lot_id"], e["quantity_before"], e["quantity_after"]) for e in sandbox.ledger()]
    assert sales[2:] == [(first, 5, 2), (second, 2, 0)]

    items = get(owl, "/order/items", key=OWL_KEY, order_id=answer["order_id"]).json()
    assert [item["lot_id"] for item in items] == [first, second]
    item = items[1]
    assert item["boid"] == f"{BOID}-{COLOR}"
    assert (item["color_id"], item["condition"], item["full_con"]) == (
        COLOR,
        "Used (Like New)",
        "usedn",
    )
    assert (item["ordered_quantity"], item["remaining_quantity"]) == ("2", "0")
    assert (item["base_price"], item["external_lot_ids"]) == ("0.125", {"other": "brickops-2"})
    assert all(
        isinstance(value, str)
        for key, value in items[0].items()
        if key in ("lot_id", "order_item_id")
    )


def test_an_order_asking_more_than_a_lot_holds_changes_nothing(owl, sandbox):
    lot_id = owl_create(owl, quantity="2")
    body = {
        "op": "place",
        "provider": "brickowl",
        "account": OWL_KEY,
        "lines": [{"lot_id": lot_id, "quantity": 3}],
    }
    response = sandbox.session.post(f"{sandbox.url}/_orders", json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "holds 2" in response.json()["error"]
    owl_post(owl, "update", lot_id=lot_id, for_sale="0")
    body["lines"] = [{"lot_id": lot_id, "quantity": 1}]
    response = sandbox.session.post(f"{sandbox.url}/_orders", json=body, timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"lot {lot_id} is not for sale"},
    )
    add = sandbox.session.post(
        f"{sandbox.url}/_orders", json={**body, "op": "add"}, timeout=TIMEOUT
    )
    assert add.status_code == 400  # BrickOwl orders are not added to
    assert lot_of(owl, lot_id)["qty"] == "2"
    assert get(owl, "/order/list", key=OWL_KEY).json() == []


def test_order_list_and_view_are_brickowls_shapes(owl, sandbox):
    lot_id = owl_create(owl, quantity="9")
    before = int(time.time())
    first = place(sandbox, (lot_id, 1))["order_id"]
    second = place(sandbox, (lot_id, 4), buyer="jane")["order_id"]
    listed = get(owl, "/order/list", key=OWL_KEY, list_type="store").json()
    assert [entry["order_id"] for entry in listed] == [second, first]
    entry = listed[0]
    assert set(entry) == {
        "order_id",
        "order_date",
        "total_quantity",
        "total_lots",
        "base_order_total",
        "status",
        "status_id",
    }
    assert all(isinstance(value, str) for value in entry.values())
    assert int(entry["order_date"]) >= before
    assert (entry["total_quantity"], entry["base_order_total"], entry["status_id"]) == (
        "4",
        "0.50",
        "0",
    )
    view = get(owl, "/order/view", key=OWL_KEY, order_id=second).json()
    assert view["order_time"] == entry["order_date"]
    assert "order_date" not in view
    assert (view["buyer_name"], view["status"], view["processed_time"]) == ("jane", "Pending", None)
    assert view["store_id"].isdigit()
    missing = get(owl, "/order/view", key=OWL_KEY, order_id="1")
    assert (missing.status_code, missing.json()) == (404, {"error": "Order not found"})
    assert get(owl, "/order/items", key=OWL_KEY).status_code == 400


def test_order_list_filters(owl, sandbox):
    lot_id = owl_create(owl, quantity="9")
    first = place(sandbox, (lot_id, 1))["order_id"]
    second = place(sandbox, (lot_id, 1))["order_id"]
    sandbox.order_change(
        op="status", provider="brickowl", account=OWL_KEY, order_id=first, status=5
    )

    def listed(**params):
        return [
            entry["order_id"] for entry in get(owl, "/order/list", key=OWL_KEY, **params).json()
        ]

    assert listed(status="Shipped") == [first]
    assert listed(status="0") == [second]
    assert listed(sort_by="updated") == [first, second]  # the status change is the latest
    assert listed(limit="1") == [second]
    assert listed(order_time=str(int(time.time()) + 60)) == []
    assert listed(list_type="customer") == []
    for bad in ({"limit": "0"}, {"limit": "5001"}, {"sort_by": "price"}, {"status": "Lost"}):
        response = get(owl, "/order/list", key=OWL_KEY, **bad)
        assert response.status_code == 400, bad


def test_status_by_name_or_id_and_cancellation_does_not_restock(owl, sandbox):
    lot_id = owl_create(owl, quantity="3")
    order_id = place(sandbox, (lot_id, 2))["order_id"]
    by_name = sandbox.order_change(
        op="status",
        provider="brickowl",
        account=OWL_KEY,
        order_id=order_id,
        status="payment received",
    )
    assert (by_name["status"], by_name["status_id"]) == ("Payment Received", 2)
    cancelled = sandbox.order_change(
        op="cancel", provider="brickowl", account=OWL_KEY, order_id=order_id
    )
    assert (cancelled["status"], cancelled["status_id"]) == ("Cancelled", 8)
    view = get(owl, "/order/view", key=OWL_KEY, order_id=order_id).json()
    assert (view["status"], view["status_id"]) == ("Cancelled", "8")
    assert lot_of(owl, lot_id)["qty"] == "1"
    for status in (3, "9", "Lost"):
        response = sandbox.session.post(
            f"{sandbox.url}/_orders",
            json={
                "op": "status",
                "provider": "brickowl",
                "account": OWL_KEY,
                "order_id": order_id,
                "status": status,
            },
            timeout=TIMEOUT,
        )
        assert response.status_code == 400, status


@pytest.mark.parametrize("endpoint", ["list", "view", "items"])
def test_faults_hit_the_order_endpoints(owl, sandbox, endpoint):
    order_id = place(sandbox, (owl_create(owl, quantity="3"), 1))["order_id"]
    sandbox.control(
        faults=[{"provider": "brickowl", "path": f"^/order/{endpoint}", "malformed_json": 1}]
    )
    response = get(owl, f"/order/{endpoint}", key=OWL_KEY, order_id=order_id)
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert sandbox.calls()["faults"] == {"malformed_json": 1}
    assert sandbox.calls()["by_endpoint"][f"GET /brickowl/order/{endpoint}"] == 1
