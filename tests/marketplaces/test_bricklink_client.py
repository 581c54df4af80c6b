"""The BrickLink client's own unit tests: HTTP stubbed at the adapter (``responses``).

Everything that crosses a real socket is tested against the sandbox in
``test_clients_against_sandbox.py``.
"""

import json
from decimal import Decimal

import pytest
import requests
import responses

from marketplaces.bricklink import BrickLinkClient, Credentials, NewLot
from marketplaces.errors import (
    AuthError,
    BadRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from marketplaces.http import HttpConfig, parse_retry_after, seconds_until_next_utc_midnight

BASE = "https://bl.test/api/store/v1"
CREDS = Credentials("ck-unit", "cs-unit-secret", "tv-unit", "ts-unit-secret")
HTML_503 = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    "<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


@pytest.fixture
def client():
    return BrickLinkClient(CREDS, base_url=BASE, http=HttpConfig(read_timeout=2, deadline=5))


def envelope(code=200, data=None, message="OK", description="OK"):
    body = {"meta": {"code": code, "message": message, "description": description}}
    if data is not None:
        body["data"] = data
    return json.dumps(body)


def stub(method, path, body="", status=200, **kwargs):
    responses.add(method, BASE + path, body=body, status=status, content_type="text/html", **kwargs)


@responses.activate
def test_bricklink_item_normalises_entities_urls_decimals(client):
    stub(
        "GET",
        "/items/PART/3001",
        envelope(
            data={
                "no": "3001",
                "name": "Brick 2 x 4 &#40;Classic&#41; &amp; more",
                "type": "PART",
                "category_id": 5,
                "image_url": "//img.bricklink.com/ItemImage/PN/11/3001.png",
                "thumbnail_url": "//img.bricklink.com/ItemImage/PT/11/3001.t1.png",
                "weight": "2.32",
                "dim_x": "4.00",
                "dim_y": "2.00",
                "dim_z": "1.20",
                "year_released": 1958,
                "description": "<p />",
                "is_obsolete": False,
            }
        ),
    )
    item = client.item("3001")
    assert item.name == "Brick 2 x 4 (Classic) & more"
    assert item.image_url == "https://img.bricklink.com/ItemImage/PN/11/3001.png"
    assert item.thumbnail_url.startswith("https://")
    assert item.weight == Decimal("2.32")
    assert isinstance(item.dim_z, Decimal)
    assert item.year_released == 1958
    assert item.category_id == 5
    # OAuth 1.0 HMAC-SHA1 in the header, never in the URL.
    sent = responses.calls[0].request
    authorization = sent.headers["Authorization"]
    authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
    assert authorization.startswith("OAuth ")
    assert 'oauth_signature_method="HMAC-SHA1"' in authorization
    assert "oauth_" not in sent.url


@responses.activate
def test_bricklink_known_colors_accepts_string_and_int_quantities(client):
    stub(
        "GET",
        "/items/PART/3001/colors",
        envelope(data=[{"color_id": 11, "quantity": "12"}, {"color_id": "5", "quantity": 3}]),
    )
    colors = client.known_colors("3001")
    assert [(c.color_id, c.quantity) for c in colors] == [(11, 12), (5, 3)]


@responses.activate
def test_bricklink_full_price_guide_makes_four_calls(client):
    for _ in range(4):
        stub(
            "GET",
            "/items/PART/3001/price",
            envelope(
                data={
                    "item": {"no": "3001", "type": "PART"},
                    "new_or_used": "N",
                    "currency_code": "USD",
                    "min_price": "0.0500",
                    "max_price": "1.2000",
                    "avg_price": "0.3333",
                    "qty_avg_price": "0.2500",
                    "unit_quantity": "40",
                    "total_quantity": 400,
                    "price_detail": [],
                }
            ),
        )
    guide = client.full_price_guide("3001", color_id=11)
    assert len(responses.calls) == 4
    queries = {
        (c.request.params["new_or_used"], c.request.params["guide_type"]) for c in responses.calls
    }
    assert queries == {("N", "stock"), ("N", "sold"), ("U", "stock"), ("U", "sold")}
    assert all(c.request.params["color_id"] == "11" for c in responses.calls)
    assert guide.used_sold.avg_price == Decimal("0.3333")
    assert guide.new_stock.unit_quantity == 40


@pytest.mark.parametrize(
    ("meta_code", "http_status", "error"),
    [
        (400, 200, BadRequest),
        (401, 200, AuthError),
        (403, 200, PermissionDenied),
        (404, 200, NotFound),
        (405, 200, BadRequest),
        (415, 200, BadRequest),
        (422, 200, BadRequest),
        (500, 200, TransientError),
        (404, 404, NotFound),
        (401, 401, AuthError),
    ],
)
@responses.activate
def test_bricklink_meta_code_decides_before_http_status(client, meta_code, http_status, error):
    stub(
        "GET",
        "/items/PART/3001",
        envelope(meta_code, message="X", description="reason"),
        status=http_status,
    )
    with pytest.raises(error) as caught:
        client.item("3001")
    assert caught.value.meta_code == meta_code
    assert caught.value.http_status == http_status
    assert caught.value.retryable is (error is TransientError)


@responses.activate
def test_bricklink_meta_429_without_header_waits_for_the_utc_day(client):
    stub("GET", "/colors", envelope(429, message="TOO_MANY_REQUESTS", description="quota"))
    with pytest.raises(RateLimited) as caught:
        client.colors()
    assert caught.value.retryable
    assert abs(caught.value.retry_after - seconds_until_next_utc_midnight()) < 5


@responses.activate
def test_bricklink_http_429_honours_retry_after(client):
    responses.add(
        "GET", BASE + "/colors", body="Too many", status=429, headers={"Retry-After": "17"}
    )
    with pytest.raises(RateLimited) as caught:
        client.colors()
    assert caught.value.retry_after == 17


@pytest.mark.parametrize(
    ("status", "body", "ambiguous_put"),
    [
        (503, HTML_503, False),  # the gateway refused it: nothing happened
        (502, "<html>Bad gateway</html>", False),
        (200, '{"meta": {"code": 200', True),  # the request ran, the reply broke
        (200, "<html>maintenance</html>", True),
        (500, "", True),
        (200, "[" * 100_000, True),
    ],
)
@responses.activate
def test_bricklink_non_envelope_answers_are_transient(client, status, body, ambiguous_put):
    stub("PUT", "/inventories/7", body, status=status)
    with pytest.raises(TransientError) as caught:
        client.inventory_update(7, description="d", quantity_delta=2)
    assert caught.value.retryable
    assert caught.value.ambiguous is ambiguous_put


@responses.activate
def test_bricklink_read_timeout_on_a_put_is_ambiguous_and_on_a_get_is_not(client):
    responses.add("PUT", BASE + "/inventories/7", body=requests.ReadTimeout())
    responses.add("GET", BASE + "/inventories/7", body=requests.ReadTimeout())
    with pytest.raises(TransientError) as put:
        client.inventory_update(7, description="d", quantity_delta=1)
    assert put.value.ambiguous
    with pytest.raises(TransientError) as get:
        client.inventory_get(7)
    assert not get.value.ambiguous


@responses.activate
def test_bricklink_update_sends_a_signed_delta_and_always_the_description(client):
    lot = {
        "inventory_id": 7,
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 5,
        "new_or_used": "N",
        "unit_price": "0.1000",
        "description": "",
    }
    for _ in range(3):
        stub("PUT", "/inventories/7", envelope(data=lot))
    client.inventory_update(7, description="", quantity_delta=3)
    client.inventory_update(7, description="shiny", quantity_delta=-2, unit_price=Decimal("0.1"))
    client.inventory_update(7, description="x", quantity_delta=0, remarks="brickops:1")
    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert bodies[0] == {"description": "", "quantity": "+3"}
    assert bodies[1] == {"description": "shiny", "quantity": "-2", "unit_price": "0.1000"}
    assert bodies[2] == {"description": "x", "remarks": "brickops:1"}  # zero delta: no quantity


@responses.activate
def test_bricklink_create_one_lot_and_many_lots(client):
    created = {
        "inventory_id": 99,
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": "4",
        "new_or_used": "N",
        "unit_price": "0.2500",
    }
    stub("POST", "/inventories", envelope(201, data=created, message="OK_CREATED"))
    stub("POST", "/inventories", envelope(201, message="OK_CREATED"))  # array: no data
    new = NewLot("3001", 11, 4, "N", Decimal("0.25"), remarks="brickops:item:1")
    lot = client.inventory_create(new)
    assert lot.inventory_id == 99
    assert lot.quantity == 4
    assert lot.unit_price == Decimal("0.2500")
    assert client.inventory_create_many([new, new]) is None
    assert isinstance(json.loads(responses.calls[1].request.body), list)


@responses.activate
def test_bricklink_delete_accepts_an_empty_body(client):
    stub("DELETE", "/inventories/7", "")
    stub("DELETE", "/inventories/8", envelope(204, message="OK_NO_CONTENT"))
    assert client.inventory_delete(7) is None
    assert client.inventory_delete(8) is None


@responses.activate
def test_bricklink_redirect_is_not_followed(client):
    responses.add(
        "GET", BASE + "/colors", status=302, headers={"Location": "http://127.0.0.1:1/steal"}
    )
    with pytest.raises(BadRequest, match="redirect"):
        client.colors()
    assert len(responses.calls) == 1


@responses.activate
def test_bricklink_response_size_is_capped():
    small = BrickLinkClient(CREDS, base_url=BASE, http=HttpConfig(max_response_bytes=1000))
    stub("GET", "/colors", envelope(data=[{"color_id": i} for i in range(1000)]))
    with pytest.raises(TransientError, match="larger than"):
        small.colors()


@responses.activate
def test_bricklink_malformed_data_is_transient_with_context(client):
    stub("GET", "/items/PART/3001/colors", envelope(data={"not": "a list"}))
    with pytest.raises(TransientError) as caught:
        client.known_colors("3001")
    assert caught.value.path == "/items/{type}/{no}/colors"
    assert caught.value.http_status == 200


def test_bricklink_connection_refused_is_transient_and_not_ambiguous():
    client = BrickLinkClient(CREDS, base_url="http://127.0.0.1:1/api", http=HttpConfig())
    with pytest.raises(TransientError) as caught:
        client.inventory_update(1, description="d", quantity_delta=1)
    assert not caught.value.ambiguous
    assert "refused" in caught.value.message


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("30", 30.0),
        ("-5", 0.0),
        ("not a number", 60.0),
        ("", 60.0),
        (None, 60.0),
        ("99999999", 600.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("nan", 60.0),
    ],
)
def test_parse_retry_after_tolerates_anything_and_caps(header, expected):
    assert parse_retry_after(header, default=60.0, cap=600.0) == expected


def test_credentials_repr_never_shows_secrets():
    text = repr(CREDS) + str(CREDS)
    assert "cs-unit-secret" not in text
    assert "ts-unit-secret" not in text
