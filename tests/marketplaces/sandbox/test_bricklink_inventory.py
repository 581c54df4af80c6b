"""BrickLink in the sandbox: lots created, changed (a delta), deleted, refused."""

from __future__ import annotations

from marketplaces.sandbox.catalog import MISSING_ITEM_NUMBERS
from tests.marketplaces.sandbox.wire import TIMEOUT, create_lot, get, meta, put_lot


def test_bricklink_create_returns_the_lot_with_an_id(bl):
    lot = create_lot(bl, remarks="brickops:1", description="nice")
    assert isinstance(lot["inventory_id"], int)
    assert lot["item"] == {"no": "3001", "name": "Brick 2 x 4", "type": "PART", "category_id": 5}
    assert (lot["color_id"], lot["color_name"], lot["quantity"]) == (11, "Black", 5)
    assert lot["unit_price"] == "0.1250"
    assert lot["date_created"].endswith("Z")
    assert get(bl, f"/inventories/{lot['inventory_id']}").json()["data"] == lot


def test_bricklink_put_quantity_is_a_delta(bl):
    lot = create_lot(bl)
    url_id = lot["inventory_id"]
    quantities = []
    for delta in ("+3", "-2", 4):
        response = put_lot(bl, url_id, {"quantity": delta, "description": ""})
        assert meta(response)["code"] == 200, response.text
        quantities.append(response.json()["data"]["quantity"])
    assert quantities == [8, 6, 10]  # the plain 4 was ADDED
    below = put_lot(bl, url_id, {"quantity": "-11", "description": ""})
    assert meta(below)["code"] == 400
    assert get(bl, f"/inventories/{url_id}").json()["data"]["quantity"] == 10


def test_bricklink_put_without_description_is_a_real_http_400(bl):
    lot = create_lot(bl)
    response = put_lot(bl, lot["inventory_id"], {"quantity": "+1"})
    assert response.status_code == 400
    assert meta(response) == {
        "code": 400,
        "message": "INVALID_REQUEST_BODY",
        "description": "String input must not be null",
    }
    assert get(bl, f"/inventories/{lot['inventory_id']}").json()["data"]["quantity"] == 5


def test_bricklink_put_updates_fields_but_not_item_color_or_condition(bl):
    lot = create_lot(bl)
    updated = put_lot(
        bl, lot["inventory_id"], {"description": "mint", "unit_price": 0.2, "remarks": "r"}
    ).json()["data"]
    assert (updated["description"], updated["unit_price"], updated["remarks"]) == (
        "mint",
        "0.2000",
        "r",
    )
    for change in ({"color_id": 5}, {"new_or_used": "U"}, {"item": {"no": "3003", "type": "PART"}}):
        response = put_lot(bl, lot["inventory_id"], {"description": "", **change})
        assert meta(response)["code"] == 422
        assert meta(response)["message"] == "RESOURCE_UPDATE_NOT_ALLOWED"


def test_bricklink_array_post_answers_201_with_empty_data_and_never_dedupes(bl):
    lot = {
        "item": {"no": "3003", "type": "PART"},
        "color_id": 5,
        "quantity": 2,
        "unit_price": "1",
        "new_or_used": "U",
    }
    response = bl.post(f"{bl.base}/inventories", json=[lot, lot], timeout=TIMEOUT)
    assert meta(response)["code"] == 201
    assert response.json()["data"] == {}  # no ids: re-list
    lots = get(bl, "/inventories").json()["data"]
    assert [row["item"]["no"] for row in lots] == ["3003", "3003"]
    assert lots[0]["inventory_id"] != lots[1]["inventory_id"]


def test_bricklink_one_element_array_answers_the_lot_and_a_bad_element_stores_none(bl, sandbox):
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 4,
        "unit_price": "0.5",
        "new_or_used": "N",
    }
    response = bl.post(f"{bl.base}/inventories", json=[lot], timeout=TIMEOUT)
    assert meta(response)["code"] == 201
    created = response.json()["data"]
    assert (created["item"]["no"], created["quantity"]) == ("3001", 4)
    bad = {**lot, "item": {"no": "9999999", "type": "PART"}}
    refused = bl.post(f"{bl.base}/inventories", json=[lot, bad], timeout=TIMEOUT)
    assert meta(refused)["code"] == 400  # all or nothing
    empty = bl.post(f"{bl.base}/inventories", json=[], timeout=TIMEOUT)
    assert meta(empty)["message"] == "INVALID_REQUEST_BODY"
    assert [row["inventory_id"] for row in get(bl, "/inventories").json()["data"]] == [
        created["inventory_id"]
    ]
    assert [entry["op"] for entry in sandbox.ledger()] == ["create"]


def test_bricklink_delete_answers_an_empty_body(bl):
    lot = create_lot(bl)
    response = bl.delete(f"{bl.base}/inventories/{lot['inventory_id']}", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == b""
    assert meta(get(bl, f"/inventories/{lot['inventory_id']}"))["code"] == 404
    again = bl.delete(f"{bl.base}/inventories/{lot['inventory_id']}", timeout=TIMEOUT)
    assert meta(again)["code"] == 404


def test_bricklink_bad_bodies_are_meta_400(bl):
    unknown_item = bl.post(
        f"{bl.base}/inventories",
        json={
            "item": {"no": MISSING_ITEM_NUMBERS[0], "type": "PART"},
            "color_id": 11,
            "quantity": 1,
            "unit_price": "1",
            "new_or_used": "N",
        },
        timeout=TIMEOUT,
    )
    assert meta(unknown_item)["code"] == 400
    malformed = bl.post(
        f"{bl.base}/inventories",
        data=b'{"item": ',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert meta(malformed)["code"] == 400
    assert meta(malformed)["message"] == "INVALID_REQUEST_BODY"
    assert get(bl, "/inventories").json()["data"] == []
