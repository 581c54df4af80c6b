"""The marketplace sandbox over real HTTP: BrickLink's and BrickOwl's quirks, faults, control.

Plain ``requests`` and ``requests_oauthlib.OAuth1`` on purpose: these tests pin down what the
sandbox says on the wire, independently of the project's clients.
"""

from __future__ import annotations

import html
import threading
import time

import pytest
import requests
from requests_oauthlib import OAuth1

from marketplaces.sandbox.catalog import (
    MISSING_ITEM_NUMBERS,
    UNMAPPED_BRICKLINK_COLOR_IDS,
    build_catalog,
)
from tests.harness import SandboxProcess

CREDS = SandboxProcess.BRICKLINK_CREDENTIALS
OWL_KEY = SandboxProcess.BRICKOWL_KEY
TIMEOUT = 5


def oauth(**overrides) -> OAuth1:
    creds = {**CREDS, **overrides}
    extra = {key: creds.pop(key) for key in ("nonce", "timestamp") if key in creds}
    return OAuth1(
        creds["consumer_key"],
        creds["consumer_secret"],
        creds["token_value"],
        creds["token_secret"],
        **extra,
    )


@pytest.fixture
def bl(sandbox):
    """A session signing every request anew; ``bl.base`` is the API root."""
    session = requests.Session()
    session.auth = oauth()
    session.base = sandbox.bricklink_url
    yield session
    session.close()


@pytest.fixture
def owl(sandbox):
    """A BrickOwl session; the key goes in each request's query or form."""
    session = requests.Session()
    session.base = sandbox.brickowl_url
    yield session
    session.close()


def get(session, path: str, **params):
    return session.get(f"{session.base}{path}", params=params, timeout=TIMEOUT)


def meta(response) -> dict:
    return response.json()["meta"]


def create_lot(bl, **fields) -> dict:
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 5,
        "unit_price": "0.125",
        "new_or_used": "N",
        **fields,
    }
    response = bl.post(f"{bl.base}/inventories", json=lot, timeout=TIMEOUT)
    assert meta(response)["code"] == 201, response.text
    return response.json()["data"]


def put_lot(bl, inventory_id: int, body: dict, **kwargs):
    return bl.put(
        f"{bl.base}/inventories/{inventory_id}", json=body, timeout=kwargs.get("timeout", TIMEOUT)
    )


def owl_post(owl, action: str, key: str = OWL_KEY, **form):
    return owl.post(f"{owl.base}/inventory/{action}", data={"key": key, **form}, timeout=TIMEOUT)


def owl_create(owl, **form) -> str:
    catalog = build_catalog(1)
    fields = {
        "boid": catalog.item("PART", "3001").boid,
        "color_id": catalog.colors[11].brickowl_id,
        "quantity": "3",
        "price": "0.125",
        "condition": "new",
        "external_id": "brickops-1",
        **form,
    }
    response = owl_post(owl, "create", **fields)
    assert response.status_code == 200, response.text
    return response.json()["lot_id"]


# --- BrickLink: OAuth ----------------------------------------------------------------------


def test_bricklink_signed_call_succeeds_labelled_text_html(bl):
    response = get(bl, "/items/PART/3001")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert meta(response) == {"code": 200, "message": "OK", "description": "OK"}
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_bricklink_bad_signature_is_meta_401_with_http_200(sandbox):
    response = requests.get(
        f"{sandbox.bricklink_url}/colors",
        auth=oauth(consumer_secret="not-the-secret"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert meta(response)["code"] == 401
    assert meta(response)["message"] == "BAD_OAUTH_REQUEST"
    assert meta(response)["description"].startswith("SIGNATURE_INVALID:")
    assert "data" not in response.json()


def test_bricklink_unsigned_and_unknown_credentials_are_refused(sandbox):
    url = f"{sandbox.bricklink_url}/colors"
    unsigned = requests.get(url, timeout=TIMEOUT)
    stranger = requests.get(url, auth=oauth(consumer_key="who-is-this"), timeout=TIMEOUT)
    wrong_token = requests.get(url, auth=oauth(token_value="not-my-token"), timeout=TIMEOUT)
    assert meta(unsigned)["description"].startswith("SIGNATURE_INVALID:")
    assert meta(stranger)["description"].startswith("CONSUMER_KEY_UNKNOWN:")
    assert meta(wrong_token)["description"].startswith("TOKEN_VALUE_UNKNOWN:")


def test_bricklink_reused_nonce_is_refused(sandbox):
    fixed = oauth(nonce="fixed-nonce-1234567890", timestamp=str(int(time.time())))
    url = f"{sandbox.bricklink_url}/colors"
    first = requests.get(url, auth=fixed, timeout=TIMEOUT)
    again = requests.get(url, auth=fixed, timeout=TIMEOUT)
    assert meta(first)["code"] == 200
    assert meta(again)["code"] == 401
    assert meta(again)["description"].startswith("NONCE_USED:")


def test_bricklink_stale_timestamp_is_refused(sandbox):
    stale = oauth(timestamp=str(int(time.time()) - 1000))
    response = requests.get(f"{sandbox.bricklink_url}/colors", auth=stale, timeout=TIMEOUT)
    assert meta(response)["code"] == 401
    assert meta(response)["description"].startswith("TIMESTAMP_REFUSED:")


def test_bricklink_real_error_mode_answers_the_meta_code_as_http_status(bl, sandbox):
    sandbox.control(bricklink_error_http_status="real")
    missing = get(bl, "/items/PART/9999999")
    unsigned = requests.get(f"{sandbox.bricklink_url}/colors", timeout=TIMEOUT)
    assert (missing.status_code, meta(missing)["code"]) == (404, 404)
    assert (unsigned.status_code, meta(unsigned)["code"]) == (401, 401)
    assert get(bl, "/colors").status_code == 200


# --- BrickLink: catalog --------------------------------------------------------------------


def test_bricklink_item_has_the_real_shape(bl):
    data = get(bl, "/items/PART/3001").json()["data"]
    assert set(data) == {
        "no",
        "name",
        "type",
        "category_id",
        "alternate_no",
        "image_url",
        "thumbnail_url",
        "weight",
        "dim_x",
        "dim_y",
        "dim_z",
        "year_released",
        "description",
        "is_obsolete",
        "language_code",
    }
    assert (data["no"], data["name"], data["type"]) == ("3001", "Brick 2 x 4", "PART")
    assert data["image_url"] == "//img.bricklink.com/ItemImage/PN/11/3001.png"
    assert data["thumbnail_url"] == "//img.bricklink.com/ItemImage/PT/11/3001.t1.png"
    assert data["weight"] == "2.32"
    assert all(len(data[k].split(".")[1]) == 2 for k in ("weight", "dim_x", "dim_y", "dim_z"))
    assert data["description"].startswith("<p")
    assert data["is_obsolete"] is False


def test_bricklink_sets_minifigs_entities_obsolete_and_alternates(bl, sandbox_catalog):
    star_destroyer = get(bl, "/items/SET/10030-1").json()["data"]
    assert star_destroyer["name"] == "Imperial Star Destroyer - UCS"
    assert star_destroyer["image_url"] == "//img.bricklink.com/ItemImage/SN/0/10030-1.png"
    assert get(bl, "/items/MINIFIG/sw0001a").json()["data"]["type"] == "MINIFIG"
    entity_part = sandbox_catalog.part_with_entities()
    name = get(bl, f"/items/PART/{entity_part}").json()["data"]["name"]
    assert name != html.unescape(name)
    obsolete = next(item for item in sandbox_catalog.parts() if item.is_obsolete)
    assert get(bl, f"/items/PART/{obsolete.no}").json()["data"]["is_obsolete"] is True
    printed = get(bl, "/items/PART/3069bpr0099").json()["data"]
    assert printed["name"].endswith("Pattern")
    assert "&amp;" in printed["name"]
    assert get(bl, "/items/PART/15573").json()["data"]["alternate_no"] == "3794b"


@pytest.mark.parametrize("no", ["9999999", "nonexistent-part"])
def test_bricklink_unknown_part_is_meta_404(bl, no):
    response = get(bl, f"/items/PART/{no}")
    assert response.status_code == 200
    assert meta(response)["code"] == 404
    assert meta(response)["message"] == "RESOURCE_NOT_FOUND"
    assert meta(get(bl, "/items/SET/10030"))["code"] == 404  # sets carry -1


def test_bricklink_known_colors_send_quantities_as_strings_for_some_parts(bl, sandbox_catalog):
    as_string = next(p for p in sandbox_catalog.parts() if p.quantity_as_string)
    as_int = next(p for p in sandbox_catalog.parts() if not p.quantity_as_string)
    strings = get(bl, f"/items/PART/{as_string.no}/colors").json()["data"]
    ints = get(bl, f"/items/PART/{as_int.no}/colors").json()["data"]
    assert all(isinstance(row["quantity"], str) for row in strings)
    assert all(isinstance(row["quantity"], int) for row in ints)
    assert [row["color_id"] for row in ints] == list(as_int.color_ids)
    assert 1 <= len(ints) <= 8


@pytest.mark.parametrize("guide_type", ["stock", "sold"])
def test_bricklink_price_guide_shape(bl, guide_type):
    data = get(
        bl, "/items/PART/3001/price", color_id=11, guide_type=guide_type, new_or_used="U"
    ).json()["data"]
    assert data["item"] == {"no": "3001", "type": "PART"}
    assert (data["new_or_used"], data["currency_code"]) == ("U", "USD")
    for key in ("min_price", "max_price", "avg_price", "qty_avg_price"):
        assert len(data[key].split(".")[1]) == 4
    assert isinstance(data["unit_quantity"], int)
    assert isinstance(data["total_quantity"], int)
    assert data["price_detail"]
    expected = (
        {"quantity", "unit_price", "shipping_available"}
        if guide_type == "stock"
        else {"quantity", "unit_price", "seller_country_code", "buyer_country_code", "date_ordered"}
    )
    assert all(set(detail) == expected for detail in data["price_detail"])


def test_bricklink_price_guide_defaults_unknown_color_and_bad_parameters(bl):
    default = get(bl, "/items/PART/3001/price", color_id=11).json()["data"]
    assert (default["new_or_used"], default["currency_code"]) == ("N", "USD")
    assert "shipping_available" in default["price_detail"][0]
    euros = get(bl, "/items/PART/3001/price", color_id=11, currency_code="EUR").json()["data"]
    assert euros["currency_code"] == "EUR"
    unknown_color = get(bl, "/items/PART/3001/price", color_id=999).json()["data"]
    assert unknown_color["avg_price"] == "0.0000"
    assert unknown_color["unit_quantity"] == 0
    assert unknown_color["price_detail"] == []
    for bad in ({"guide_type": "later"}, {"new_or_used": "X"}):
        response = get(bl, "/items/PART/3001/price", color_id=11, **bad)
        assert meta(response)["code"] == 400
        assert meta(response)["message"] == "PARAMETER_MISSING_OR_INVALID"


def test_bricklink_colors_and_categories(bl):
    colors = get(bl, "/colors").json()["data"]
    assert len(colors) >= 60
    by_id = {color["color_id"]: color for color in colors}
    assert by_id[11]["color_name"] == "Black"
    assert by_id[86]["color_name"] == "Light Bluish Gray"
    assert by_id[0]["color_name"] == "(Not Applicable)"
    assert all(len(c["color_code"]) == 6 and "#" not in c["color_code"] for c in colors)
    assert {"color_id", "color_name", "color_code", "color_type"} == set(colors[0])
    categories = get(bl, "/categories").json()["data"]
    assert len(categories) >= 20
    ids = {c["category_id"] for c in categories}
    assert any(c["parent_id"] == 0 for c in categories)
    assert any(c["parent_id"] in ids for c in categories)


# --- BrickLink: inventory ------------------------------------------------------------------


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


def test_bricklink_array_post_answers_201_without_data_and_never_dedupes(bl):
    lot = {
        "item": {"no": "3003", "type": "PART"},
        "color_id": 5,
        "quantity": 2,
        "unit_price": "1",
        "new_or_used": "U",
    }
    response = bl.post(f"{bl.base}/inventories", json=[lot, lot], timeout=TIMEOUT)
    assert meta(response)["code"] == 201
    assert "data" not in response.json()
    lots = get(bl, "/inventories").json()["data"]
    assert [row["item"]["no"] for row in lots] == ["3003", "3003"]
    assert lots[0]["inventory_id"] != lots[1]["inventory_id"]


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


# --- BrickLink: quota and concurrency ------------------------------------------------------


def test_bricklink_quota_in_200_mode_is_meta_429(bl, sandbox):
    sandbox.control(bricklink_quota=2)
    assert [meta(get(bl, "/colors"))["code"] for _ in range(2)] == [200, 200]
    refused = get(bl, "/colors")
    assert refused.status_code == 200
    assert meta(refused)["code"] == 429
    assert meta(refused)["message"] == "TOO_MANY_REQUESTS"
    assert "quota" in meta(refused)["description"]
    assert sandbox.calls()["by_endpoint"]["GET /bricklink/colors"] == 3


def test_bricklink_quota_in_real_mode_is_http_429_until_utc_midnight(bl, sandbox):
    sandbox.control(bricklink_quota=1, bricklink_error_http_status="real")
    get(bl, "/colors")
    refused = get(bl, "/colors")
    assert refused.status_code == 429
    assert meta(refused)["code"] == 429
    now = time.time()
    until_midnight = 86400 - now % 86400
    assert abs(int(refused.headers["Retry-After"]) - until_midnight) <= 2


def test_bricklink_quota_is_per_consumer_key(bl, sandbox):
    other = {
        "consumer_key": "ck-2",
        "consumer_secret": "cs-2",
        "token_value": "tv-2",
        "token_secret": "ts-2",
    }
    sandbox.control(bricklink_quota=1, bricklink_credentials=[other])
    assert meta(get(bl, "/colors"))["code"] == 200
    assert meta(get(bl, "/colors"))["code"] == 429
    second = requests.get(f"{sandbox.bricklink_url}/colors", auth=oauth(**other), timeout=5)
    assert meta(second)["code"] == 200
    assert sandbox.calls()["by_account"] == {"sandbox-consumer-key": 2, "ck-2": 1}


def test_bricklink_more_than_five_in_flight_get_nginx_503_pages(sandbox):
    # Long enough that all ten overlap even when a loaded machine staggers their starts
    # (seen failing at 400 ms with both cores busy: no sixth request arrived in time).
    sandbox.control(latency={"fixed_ms": 1500, "random_ms": 0})
    barrier = threading.Barrier(10)
    results: list[requests.Response] = []

    def call() -> None:
        barrier.wait()
        results.append(
            requests.get(f"{sandbox.bricklink_url}/colors", auth=oauth(), timeout=TIMEOUT)
        )

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [r for r in results if r.status_code == 200]
    gateway = [r for r in results if r.status_code == 503]
    assert len(ok) >= 5
    assert gateway
    assert len(ok) + len(gateway) == 10
    assert gateway[0].headers["Content-Type"].startswith("text/html")
    assert b"<center>nginx</center>" in gateway[0].content
    calls = sandbox.calls()
    assert calls["by_endpoint"]["GET /bricklink/colors"] == 10
    assert calls["quota_used"]["sandbox-consumer-key"] == len(ok)  # 503s are free


# --- BrickOwl ------------------------------------------------------------------------------


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


# --- faults --------------------------------------------------------------------------------


def _bricklink_create(bl, timeout: float = TIMEOUT):
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 1,
        "unit_price": "1",
        "new_or_used": "N",
    }
    return bl.post(f"{bl.base}/inventories", json=lot, timeout=timeout)


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "http_429"])
def test_bricklink_answered_faults_apply_nothing(bl, sandbox, fault):
    sandbox.control(faults=[{"provider": "bricklink", "path": "^/inventories", fault: 1}])
    response = _bricklink_create(bl)
    expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
    assert response.status_code == expected[fault]
    if fault == "error_500":
        assert meta(response)["message"] == "INTERNAL_SERVER_ERROR"
    if fault == "html_503":
        assert b"503 Service Temporarily Unavailable" in response.content
    if fault == "malformed_json":
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    if fault == "http_429":
        assert response.headers["Retry-After"] == "2"
        assert meta(response)["code"] == 429
    assert sandbox.inventory("bricklink", CREDS["consumer_key"]) == []
    assert sandbox.ledger() == []
    assert sandbox.calls()["faults"] == {fault: 1}


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "http_429"])
def test_brickowl_answered_faults_apply_nothing(owl, sandbox, fault):
    sandbox.control(faults=[{"provider": "brickowl", "method": "POST", fault: 1}])
    boid = build_catalog(1).item("PART", "3001").boid
    response = owl_post(
        owl, "create", boid=boid, color_id="38", quantity="1", price="1", condition="new"
    )
    expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
    assert response.status_code == expected[fault]
    if fault == "error_500":
        assert response.json() == {"error": "Internal Server Error"}
    if fault == "http_429":
        assert response.headers["Retry-After"] == "2"
    assert sandbox.inventory("brickowl", OWL_KEY) == []


@pytest.mark.parametrize("provider", ["bricklink", "brickowl"])
def test_hang_answers_nothing_and_applies_nothing(bl, owl, sandbox, provider):
    sandbox.control(faults=[{"provider": provider, "hang": 1, "hang_seconds": 1}])
    boid = build_catalog(1).item("PART", "3001").boid
    form = {
        "key": OWL_KEY,
        "boid": boid,
        "color_id": "38",
        "quantity": "1",
        "price": "1",
        "condition": "new",
    }
    send = {
        "bricklink": lambda: _bricklink_create(bl, timeout=0.5),
        "brickowl": lambda: owl.post(f"{owl.base}/inventory/create", data=form, timeout=0.5),
    }[provider]
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        send()
    assert time.monotonic() - started < 1.0
    assert sandbox.ledger() == []
    assert sandbox.calls()["faults"] == {"hang": 1}


def test_hang_closes_the_connection_without_a_response(sandbox):
    sandbox.control(faults=[{"provider": "brickowl", "hang": 1, "hang_seconds": 0.3}])
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{sandbox.brickowl_url}/catalog/color_list", params={"key": OWL_KEY}, timeout=5
        )


def test_bricklink_apply_then_timeout_applies_but_never_answers(bl, sandbox):
    lot = create_lot(bl)
    sandbox.control(
        faults=[
            {"provider": "bricklink", "method": "PUT", "apply_then_timeout": 1, "hang_seconds": 1}
        ]
    )
    with pytest.raises(requests.Timeout):
        put_lot(bl, lot["inventory_id"], {"quantity": "+3", "description": ""}, timeout=0.5)
    last = sandbox.ledger()[-1]
    assert (last["op"], last["lot_id"], last["quantity_before"], last["quantity_after"]) == (
        "update",
        lot["inventory_id"],
        5,
        8,
    )
    assert last["fields"] == {"quantity": "+3", "description": ""}
    [stored] = sandbox.inventory("bricklink", CREDS["consumer_key"])
    assert stored["quantity"] == 8


def test_brickowl_apply_then_timeout_leaves_the_lot_created(owl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "brickowl", "path": "create", "apply_then_timeout": 1, "hang_seconds": 1}
        ]
    )
    boid = build_catalog(1).item("PART", "3001").boid
    with pytest.raises(requests.Timeout):
        owl.post(
            f"{owl.base}/inventory/create",
            data={
                "key": OWL_KEY,
                "boid": boid,
                "color_id": "38",
                "quantity": "2",
                "price": "1",
                "condition": "new",
                "external_id": "brickops-7",
            },
            timeout=0.5,
        )
    assert [entry["op"] for entry in sandbox.ledger()] == ["create"]
    [lot] = sandbox.inventory("brickowl", OWL_KEY)
    assert lot["external_lot_ids"] == {"other": "brickops-7"}


def test_fault_times_caps_the_injections(bl, sandbox):
    sandbox.control(
        faults=[{"provider": "bricklink", "path": "^/colors", "error_500": 1, "times": 2}]
    )
    statuses = [get(bl, "/colors").status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert sandbox.control()["faults"][0]["injected"] == 2


def test_fault_after_lets_that_many_matching_calls_through_first(bl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "bricklink", "path": "^/colors", "error_500": 1, "after": 2, "times": 1},
        ]
    )
    assert get(bl, "/items/PART/3001").status_code == 200  # not a match: not counted
    statuses = [get(bl, "/colors").status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]
    assert sandbox.control()["faults"][0]["after"] == 2


def test_faults_replay_with_the_same_seed(bl, sandbox):
    rule = {"provider": "bricklink", "path": "^/colors", "error_500": 0.5}

    def run() -> list[int]:
        sandbox.control(reset=True, faults=[rule])
        return [get(bl, "/colors").status_code for _ in range(16)]

    first = run()
    assert run() == first
    assert {200, 500} <= set(first)


def test_a_fault_seed_replays_its_own_faults_over_the_same_catalog(bl, sandbox):
    rule = {"provider": "bricklink", "path": "^/colors", "error_500": 0.5}

    def run(**seeds) -> tuple[list[int], bytes]:
        sandbox.control(reset=True, faults=[rule], **seeds)
        statuses = [get(bl, "/colors").status_code for _ in range(24)]
        sandbox.control(faults=[])
        return statuses, get(bl, "/items/PART/3001").content

    default, part = run()
    seven, part_seven = run(fault_seed=7)
    assert run(fault_seed=7) == (seven, part_seven)  # the same seed, the same faults
    assert seven != default  # another sequence of faults...
    assert part_seven == part  # ...over the same catalog
    assert sandbox.control(fault_seed=7)["fault_seed"] == 7
    assert sandbox.reset()["fault_seed"] is None


def test_fault_rules_match_method_and_path(bl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "bricklink", "method": "POST", "path": "^/inventories", "error_500": 1}
        ]
    )
    assert get(bl, "/inventories").status_code == 200
    assert get(bl, "/items/PART/3001").status_code == 200
    assert _bricklink_create(bl).status_code == 500


def test_latency_is_added_to_api_calls_only(bl, sandbox):
    sandbox.control(latency={"fixed_ms": 300, "random_ms": 0})
    started = time.monotonic()
    get(bl, "/colors")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sandbox.calls()
    assert time.monotonic() - started < 0.3


# --- control, counting, drift ----------------------------------------------------------------


def test_calls_are_counted_by_endpoint_resource_account_and_fault(bl, owl, sandbox):
    for guide in ("stock", "sold"):
        for condition in ("N", "U"):
            get(bl, "/items/PART/3001/price", color_id=11, guide_type=guide, new_or_used=condition)
    get(bl, "/items/PART/3001")
    get(owl, "/catalog/id_lookup", id="3001", type="Part", id_type="bl_item_no", key=OWL_KEY)
    requests.get(f"{sandbox.bricklink_url}/colors", timeout=TIMEOUT)  # unsigned, still counted
    calls = sandbox.calls()
    assert calls["total"] == 7
    assert calls["by_endpoint"] == {
        "GET /bricklink/items/{type}/{no}/price": 4,
        "GET /bricklink/items/{type}/{no}": 1,
        "GET /brickowl/catalog/id_lookup": 1,
        "GET /bricklink/colors": 1,
    }
    resources = calls["by_resource"]
    price = "GET /bricklink/items/PART/3001/price?color_id=11"
    assert resources[f"{price}&guide_type=stock&new_or_used=N"] == 1
    assert resources[f"{price}&guide_type=sold&new_or_used=U"] == 1
    assert resources["GET /bricklink/items/PART/3001"] == 1
    assert calls["by_account"] == {"sandbox-consumer-key": 5, OWL_KEY: 1}
    sandbox.calls()
    sandbox.control()
    assert sandbox.calls()["total"] == 7  # control endpoints are never counted


def test_inventory_drift_is_seen_by_the_api_but_not_counted_or_ledgered(bl, owl, sandbox):
    lot = create_lot(bl)
    sandbox.inventory_change(
        provider="bricklink",
        account=CREDS["consumer_key"],
        op="update",
        lot_id=lot["inventory_id"],
        lot={"quantity": 2, "remarks": "drift"},
    )
    seen = get(bl, f"/inventories/{lot['inventory_id']}").json()["data"]
    assert (seen["quantity"], seen["remarks"]) == (2, "drift")
    created = sandbox.inventory_change(
        provider="brickowl",
        account=OWL_KEY,
        op="create",
        lot={
            "boid": build_catalog(1).item("PART", "3003").boid,
            "color_id": "81",
            "quantity": 4,
            "price": "0.3",
            "condition": "new",
            "external_id": "manual",
        },
    )["lot"]
    assert get(owl, "/inventory/list", key=OWL_KEY).json() == [created]
    sandbox.inventory_change(
        provider="brickowl", account=OWL_KEY, op="delete", lot_id=created["lot_id"]
    )
    assert sandbox.inventory("brickowl", OWL_KEY) == []
    assert [entry["op"] for entry in sandbox.ledger()] == ["create"]
    assert sandbox.calls()["total"] == 3


def test_control_refuses_bad_bodies_and_changes_nothing(sandbox):
    before = sandbox.control()
    for bad in (
        {"bricklink_quota": 10, "typo": 1},
        {"faults": [{"error_500": 2}]},
        {"bricklink_error_http_status": "sometimes"},
        {"latency": {"fixed": 1}},
    ):
        response = sandbox.session.post(f"{sandbox.url}/_control", json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert sandbox.control() == before


def test_reset_restores_startup_settings_and_forgets_extra_credentials(bl, sandbox):
    create_lot(bl)
    config = sandbox.control(
        bricklink_quota=1,
        brickowl_keys=["owl-2"],
        seed=5,
        faults=[{"provider": "brickowl", "error_500": 0.1}],
        bricklink_credentials=[
            {
                "consumer_key": "ck-9",
                "consumer_secret": "s",
                "token_value": "t",
                "token_secret": "u",
            }
        ],
    )
    assert config["bricklink_accounts"] == ["ck-9", "sandbox-consumer-key"]
    assert config["brickowl_accounts"] == ["owl-2", OWL_KEY]
    reset = sandbox.reset()
    assert reset["bricklink_quota"] == 5000
    assert reset["seed"] == 1
    assert reset["faults"] == []
    assert reset["bricklink_accounts"] == ["sandbox-consumer-key"]
    assert reset["bricklink_error_http_status"] == "200"
    assert sandbox.inventory("bricklink", CREDS["consumer_key"]) == []
    assert sandbox.calls()["total"] == 0
    assert sandbox.ledger() == []


# --- determinism ---------------------------------------------------------------------------


def test_catalog_is_deterministic_per_seed_and_rich_enough():
    first, again, other = build_catalog(1), build_catalog.__wrapped__(1), build_catalog(2)
    assert [i.bricklink_payload() for i in first.items.values()] == [
        i.bricklink_payload() for i in again.items.values()
    ]
    assert [(i.no, i.colors) for i in first.parts()] != [(i.no, i.colors) for i in other.parts()]
    parts = first.parts()
    assert len(first.colors) >= 60
    assert len(first.categories) >= 20
    assert len(parts) >= 200
    assert sum(p.is_printed for p in parts) >= 10
    assert sum(p.is_obsolete for p in parts) >= 5
    assert sum(bool(p.alternate_no) for p in parts) >= 2
    assert all(1 <= len(p.colors) <= 8 for p in parts)
    assert {"10030-1", "6080-1", "75192-1"} <= {s.no for s in first.of_type("SET")}
    assert first.item("MINIFIG", "sw0001a") is not None
    for no in MISSING_ITEM_NUMBERS:
        assert all(first.item(kind, no) is None for kind in ("PART", "SET", "MINIFIG"))
    for no in (
        "3001",
        "3003",
        "3020",
        "3069b",
        "2780",
        "973",
        "970",
        "3626c",
        "3001pr0001",
        "973pb0001",
        "3069bpr0099",
    ):
        assert first.item("PART", no) is not None, no


def test_same_seed_gives_byte_identical_answers(bl, sandbox):
    paths = [
        "/items/PART/3001",
        "/items/PART/3001/price?color_id=11&guide_type=sold",
        "/colors",
        "/categories",
        "/items/SET/10030-1/colors",
    ]
    first = [bl.get(f"{bl.base}{path}", timeout=TIMEOUT).content for path in paths]
    sandbox.control(seed=2)
    changed = bl.get(f"{bl.base}{paths[1]}", timeout=TIMEOUT).content
    sandbox.reset()
    assert [bl.get(f"{bl.base}{path}", timeout=TIMEOUT).content for path in paths] == first
    assert changed != first[1]


def test_command_reads_flags_and_environment_and_reset_returns_to_them():
    process = SandboxProcess(
        args=("--bricklink-quota", "7", "--faults", '[{"provider": "brickowl", "hang": 0.5}]'),
        env={"SANDBOX_SEED": "3", "SANDBOX_LATENCY_MS": "5", "SANDBOX_FAULT_SEED": "9"},
    ).start()
    try:
        config = process.control(bricklink_quota=99, seed=4, fault_seed=1)
        assert config["bricklink_quota"] == 99
        config = process.reset()
        assert (config["bricklink_quota"], config["seed"], config["fault_seed"]) == (7, 3, 9)
        assert config["latency"] == {"fixed_ms": 5, "random_ms": 0}
        assert config["faults"][0]["hang"] == 0.5
    finally:
        process.stop()
    assert process.proc.returncode == 0
    assert "Marketplace sandbox on http://127.0.0.1:" in process.log_path.read_text()
