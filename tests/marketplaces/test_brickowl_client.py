"""The BrickOwl client's own unit tests: HTTP stubbed at the adapter (``responses``)."""

import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests
import responses

from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import (
    AuthError,
    BadRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from marketplaces.http import HttpConfig

BASE = "https://owl.test/v1"
KEY = "owl-unit-secret-key"


@pytest.fixture
def client():
    return BrickOwlClient(KEY, base_url=BASE, http=HttpConfig(read_timeout=2, deadline=5))


def form_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@responses.activate
def test_brickowl_get_sends_the_key_in_the_query(client):
    responses.add("GET", BASE + "/catalog/id_lookup", json={"boids": ["771344"]})
    assert client.id_lookup("3001") == ["771344"]
    params = responses.calls[0].request.params
    assert params == {"id": "3001", "type": "Part", "id_type": "bl_item_no", "key": KEY}


@responses.activate
def test_brickowl_post_sends_the_key_in_the_form_body(client):
    responses.add("POST", BASE + "/inventory/create", json={"status": "success", "lot_id": "55"})
    lot_id = client.inventory_create(
        boid="771344",
        color_id=38,
        quantity=4,
        price=Decimal("0.125"),
        condition="new",
        external_id="brickops-1",
    )
    assert lot_id == "55"
    request = responses.calls[0].request
    assert "key=" not in request.url
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(responses.calls[0]) == {
        "boid": "771344",
        "color_id": "38",
        "quantity": "4",
        "price": "0.125",
        "condition": "new",
        "external_id": "brickops-1",
        "key": KEY,
    }


@responses.activate
def test_brickowl_update_is_absolute_and_needs_exactly_one_selector(client):
    responses.add("POST", BASE + "/inventory/update", json={"status": "success"})
    client.inventory_update(external_id="brickops-1", absolute_quantity=7, price=Decimal("1"))
    assert form_of(responses.calls[0]) == {
        "external_id": "brickops-1",
        "absolute_quantity": "7",
        "price": "1.000",
        "key": KEY,
    }
    with pytest.raises(ValueError, match="exactly one"):
        client.inventory_update(lot_id="1", external_id="2", absolute_quantity=1)
    with pytest.raises(ValueError, match="exactly one"):
        client.inventory_delete()


@responses.activate
def test_brickowl_mutation_without_success_status_fails(client):
    responses.add("POST", BASE + "/inventory/update", json={"status": "error"})
    responses.add("POST", BASE + "/inventory/delete", json={})
    with pytest.raises(BadRequest, match="success"):
        client.inventory_update(lot_id="1", absolute_quantity=1)
    with pytest.raises(BadRequest):
        client.inventory_delete(lot_id="1")


@responses.activate
def test_brickowl_lists_lots_with_numbers_as_strings(client):
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
                "color_id": "38",
                "external_lot_ids": {"other": "55984821"},
                "type": "Part",
            }
        ],
    )
    [lot] = client.inventory_list(external_id="55984821")
    assert lot.quantity == 12
    assert lot.price == Decimal("0.720")
    assert lot.external_id == "55984821"
    assert lot.color_id == 38
    assert lot.for_sale is True
    assert responses.calls[0].request.params["external_id_1"] == "55984821"


@responses.activate
def test_brickowl_color_list_maps_bricklink_ids(client):
    responses.add(
        "GET",
        BASE + "/catalog/color_list",
        json={
            "38": {"id": "38", "name": "White", "bl_ids": ["1"]},
            "21": {"id": "21", "name": "Black", "bl_ids": ["11", "x"]},
            "99": {"id": "99", "name": "Unmapped"},
        },
    )
    colors = {color.id: color for color in client.color_list()}
    assert colors[38].bl_ids == (1,)
    assert colors[21].bl_ids == (11,)
    assert colors[99].bl_ids == ()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, AuthError),
        (403, PermissionDenied),
        (404, NotFound),
        (422, BadRequest),
        (500, TransientError),
        (503, TransientError),
    ],
)
@responses.activate
def test_brickowl_status_codes_are_classified_and_keep_the_raw_body(client, status, error):
    responses.add("GET", BASE + "/catalog/id_lookup", json={"error": "nope"}, status=status)
    with pytest.raises(error) as caught:
        client.id_lookup("3001")
    assert caught.value.http_status == status
    assert "nope" in caught.value.body


@responses.activate
def test_brickowl_429_uses_retry_after_or_a_minute(client):
    responses.add("GET", BASE + "/catalog/color_list", status=429, headers={"Retry-After": "9"})
    responses.add("GET", BASE + "/catalog/color_list", status=429, headers={"Retry-After": "soon"})
    with pytest.raises(RateLimited) as first:
        client.color_list()
    with pytest.raises(RateLimited) as second:
        client.color_list()
    assert first.value.retry_after == 9
    assert second.value.retry_after == 60


@responses.activate
def test_brickowl_malformed_json_in_a_2xx_is_transient_and_ambiguous_for_posts(client):
    responses.add("POST", BASE + "/inventory/create", body='{"status": "succ', status=200)
    with pytest.raises(TransientError) as caught:
        client.inventory_create(
            boid="1", color_id=1, quantity=1, price=Decimal(1), condition="new", external_id="e"
        )
    assert caught.value.ambiguous


@responses.activate
def test_brickowl_errors_and_logs_never_contain_the_key(client, caplog):
    responses.add(
        "GET",
        BASE + "/catalog/color_list",
        body=requests.ConnectionError(
            f"HTTPSConnectionPool: Max retries exceeded with url: /v1/catalog/color_list?key={KEY}"
        ),
    )
    responses.add("GET", BASE + "/catalog/id_lookup", status=500, body="oops")
    caplog.set_level("DEBUG")
    for call in (client.color_list, lambda: client.id_lookup("3001")):
        with pytest.raises(TransientError) as caught:
            call()
        assert KEY not in str(caught.value)
        assert KEY not in json.dumps(caught.value.as_dict())
        # No chained exception can carry the URL (and its key) into a logged traceback.
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert KEY not in caplog.text
    assert KEY not in repr(client)


def test_brickowl_refuses_bad_input_before_calling(client):
    with pytest.raises(ValueError, match="above 0"):
        client.inventory_create(
            boid="1", color_id=1, quantity=0, price=Decimal(1), condition="new", external_id="e"
        )
    with pytest.raises(ValueError, match="condition"):
        client.inventory_create(
            boid="1", color_id=1, quantity=1, price=Decimal(1), condition="mint", external_id="e"
        )
