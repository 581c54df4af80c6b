"""BrickOwl in the sandbox: the key, id lookup, colors, lots, the rate limit."""

from __future__ import annotations

from marketplaces.sandbox.catalog import UNMAPPED_BRICKLINK_COLOR_IDS, build_catalog
from tests.marketplaces.sandbox.wire import OWL_KEY, get, owl_create, owl_post


def test_brickowl_key_is_needed_in_the_query_on_get_and_the_form_on_post(owl):
    missing = get(owl, "/catalog/color_list")
    wrong = get(owl, "/catalog/color_list", key="wrong")
    assert (missing.status_code, missing.json()) == (403, {"error": "Invalid API Key"})
    assert wrong.status_code == 403
    assert get(owl, "/catalog/color_list", key=OWL_KEY).status_code == 200
    in_query_only = owl.post(
        f"{owl.base}/inventory/create", params={"key": OWL_KEY}, data={"boid": "1"}, timeout=5
    )
    assert in_query_only.status_code == 403
    assert owl_post(owl, "create", boid="nope").status_code == 400  # past auth


def test_brickowl_id_lookup_and_unmapped_parts(owl, sandbox_catalog):
    found = get(
        owl, "/catalog/id_lookup", id="3001", type="Part", id_type="bl_item_no", key=OWL_KEY
    )
    assert found.status_code == 200
    assert found.headers["Content-Type"] == "application/json"
    assert found.json() == {"boids": [sandbox_catalog.item("PART", "3001").boid]}
    for number in (sandbox_catalog.part_without_boid(), "9999999"):
        missing = get(
            owl, "/catalog/id_lookup", id=number, type="Part", id_type="bl_item_no", key=OWL_KEY
        )
        assert (missing.status_code, missing.json()) == (404, {"error": "No results found"})
    unmapped = sandbox_catalog.unmapped_parts()
    assert 0.02 <= len(unmapped) / len(sandbox_catalog.parts()) <= 0.1


def test_brickowl_color_list_bridges_bricklink_ids(owl):
    colors = get(owl, "/catalog/color_list", key=OWL_KEY).json()
    assert all(key == entry["id"] and isinstance(key, str) for key, entry in colors.items())
    bridged = {entry["bl_ids"][0]: owl_id for owl_id, entry in colors.items()}
    assert "11" in bridged
    assert bridged["11"] != "11"
    assert all(bl_id != owl_id for bl_id, owl_id in bridged.items())
    for bl_id in UNMAPPED_BRICKLINK_COLOR_IDS:
        assert str(bl_id) not in bridged
    assert {"id", "name", "hex", "bl_ids", "bl_names", "ldraw_ids", "peeron_names"} == set(
        colors[bridged["11"]]
    )


def test_brickowl_create_list_update_delete(owl, sandbox):
    lot_id = owl_create(owl, external_id="brickops-42")
    [lot] = get(owl, "/inventory/list", key=OWL_KEY, external_id_1="brickops-42").json()
    assert lot["lot_id"] == lot_id
    assert (lot["qty"], lot["price"], lot["con"], lot["for_sale"]) == ("3", "0.125", "new", "1")
    assert lot["external_lot_ids"] == {"other": "brickops-42"}
    assert all(isinstance(value, str) for key, value in lot.items() if key != "external_lot_ids")

    for _ in range(2):  # absolute_quantity is idempotent
        updated = owl_post(owl, "update", external_id="brickops-42", absolute_quantity="9")
        assert updated.json() == {"status": "success"}
    owl_post(owl, "update", lot_id=lot_id, relative_quantity="-4", price="0.5")
    [lot] = get(owl, "/inventory/list", key=OWL_KEY, lot_id=lot_id).json()
    assert (lot["qty"], lot["price"]) == ("5", "0.500")
    assert owl_post(owl, "update", lot_id=lot_id, relative_quantity="-6").status_code == 400
    both = owl_post(owl, "update", lot_id=lot_id, external_id="brickops-42", absolute_quantity=1)
    assert both.status_code == 400
    assert owl_post(owl, "update", absolute_quantity=1).status_code == 400

    assert owl_post(owl, "delete", lot_id=lot_id).json() == {"status": "success"}
    assert get(owl, "/inventory/list", key=OWL_KEY).json() == []
    assert owl_post(owl, "delete", lot_id=lot_id).status_code == 404
    assert owl_post(owl, "update", lot_id=lot_id, absolute_quantity=1).status_code == 404
    ops = [(e["op"], e["quantity_before"], e["quantity_after"]) for e in sandbox.ledger()]
    assert ops == [
        ("create", 0, 3),
        ("update", 3, 9),
        ("update", 9, 9),
        ("update", 9, 5),
        ("delete", 5, 0),
    ]


def test_brickowl_create_validation_and_duplicate_external_ids(owl):
    for bad in ({"quantity": "0"}, {"condition": "mint"}, {"boid": "000"}, {"color_id": "9999"}):
        response = owl_post(
            owl,
            "create",
            **{
                "boid": build_catalog(1).item("PART", "3001").boid,
                "color_id": "38",
                "quantity": "1",
                "price": "1",
                "condition": "usedn",
                **bad,
            },
        )
        assert response.status_code == 400, bad
        assert "error" in response.json()
    owl_create(owl, external_id="twice")
    owl_create(owl, external_id="twice")
    assert len(get(owl, "/inventory/list", key=OWL_KEY, external_id_1="twice").json()) == 2


def test_brickowl_past_the_rate_is_429_with_retry_after(owl, sandbox):
    sandbox.control(brickowl_rate_per_minute=3)
    statuses = [get(owl, "/catalog/color_list", key=OWL_KEY).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = get(owl, "/catalog/color_list", key=OWL_KEY)
    assert refused.json() == {"error": "Rate limit exceeded"}
    assert 0 < int(refused.headers["Retry-After"]) <= 60
