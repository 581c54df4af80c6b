"""Hostile input to the API: oversized, deeply nested, NUL bytes, huge integers, bytes that are
not UTF-8, absurd page sizes. Each is a 4xx in the error envelope and writes nothing.

The operations with a request body come from the live schema, so a new one is covered.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from catalog.models import RefreshJob
from core import clock
from inventory.models import InventoryHistory, InventoryItem
from tests.security.conftest import fill

pytestmark = pytest.mark.django_db

THREE_MB = 3 * 1024 * 1024
HUGE = 10**30


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def caller(tenants) -> Client:
    mine, _ = tenants
    client = Client(HTTP_AUTHORIZATION=f"Token {mine.owner_token}")
    client.raise_request_exception = False
    return client


def operations_with_a_body(client: Client, ids: dict) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                found.append((method, fill(path, ids)))
    assert len(found) >= 7, found
    return found


def writes() -> tuple[int, int, int]:
    return (
        InventoryItem.objects.count(),
        InventoryHistory.objects.count(),
        RefreshJob.objects.count(),
    )


def test_every_body_of_3mb_is_413_in_the_envelope_and_writes_nothing(caller, tenants):
    mine, _ = tenants
    body = b'{"notes": "' + b"x" * THREE_MB + b'"}'
    before = writes()
    for method, path in operations_with_a_body(caller, mine.ids()):
        response = getattr(caller, method)(path, data=body, content_type="application/json")
        assert_envelope(response, 413, "request_too_large")
    assert writes() == before


def test_a_3mb_body_is_413_before_authentication_too(db):
    client = Client()
    body = b'{"username": "' + b"x" * THREE_MB + b'", "password": "y"}'
    response = client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert_envelope(response, 413, "request_too_large")


def test_json_nested_100k_deep_is_a_400_parse_error_not_a_500(caller, tenants):
    """json.loads raises RecursionError, which DRF's parser does not catch (core/parsers.py)."""
    mine, _ = tenants
    before = writes()
    for method, path in operations_with_a_body(caller, mine.ids()):
        response = getattr(caller, method)(
            path, data=b"[" * 100_000, content_type="application/json"
        )
        assert_envelope(response, 400, "parse_error")
    assert writes() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/catalog/parts/3001/price-guide/refresh/", {"color_id": HUGE}),
        ("post", "/api/v1/catalog/parts/3001/price-guide/refresh/", {"color_id": 2**31}),
        (
            "post",
            "/api/v1/catalog/refresh/",
            {"items": [{"kind": "price_guide", "no": "3001", "color_id": HUGE}]},
        ),
        ("get", f"/api/v1/catalog/parts/3001/price-guide/?color_id={HUGE}", None),
        (
            "post",
            "/api/v1/inventory/items/",
            {"part_number": "3001", "color_id": HUGE, "condition": "new"},
        ),
        (
            "post",
            "/api/v1/inventory/items/",
            {"part_number": "3001", "color_id": 1, "condition": "new", "quantity_available": HUGE},
        ),
    ],
)
def test_integers_beyond_the_database_are_400_not_500(caller, method, path, body):
    """A color id past PostgreSQL's integer used to reach the outbox insert: a 500 (found by
    the schemathesis run)."""
    before = writes()
    if body is None:
        response = caller.get(path)
    else:
        response = getattr(caller, method)(path, data=body, content_type="application/json")
    assert_envelope(response, 400, "validation_error")
    assert writes() == before


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/inventory/items/{HUGE}/",
        f"/api/v1/inventory/items/{2**63}/history/",
        f"/api/v1/inventory/items/?page={HUGE}",
    ],
)
def test_huge_ids_and_pages_are_404(caller, path):
    assert_envelope(caller.get(path), 404, "not_found")


def test_a_5000_digit_integer_in_a_body_is_a_400(caller):
    body = b'{"part_number": "3001", "condition": "new", "color_id": 1' + b"0" * 5000 + b"}"
    response = caller.post("/api/v1/inventory/items/", data=body, content_type="application/json")
    assert_envelope(response, 400)
    assert not InventoryItem.objects.filter(color_id__gt=11).exists()


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("get", "/api/v1/catalog/parts/30%0001/", "invalid_part_number"),
        ("post", "/api/v1/catalog/parts/3001%00/refresh/", "invalid_part_number"),
        ("get", "/api/v1/inventory/items/?part_number=30%0001", "validation_error"),
        ("get", "/api/v1/inventory/items/?color_id=1%00", "validation_error"),
        ("get", "/api/v1/catalog/parts/3001/?wait=1%00", "validation_error"),
        ("delete", "/api/v1/inventory/items/{item}/?reason=a%00b", "validation_error"),
    ],
)
def test_nul_bytes_in_paths_and_query_strings_are_400(caller, tenants, method, path, code):
    mine, _ = tenants
    before = writes()
    response = getattr(caller, method)(path.format(item=mine.items[0].pk))
    assert_envelope(response, 400, code)
    assert writes() == before
    assert not InventoryItem.objects.get(pk=mine.items[0].pk).archived


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\ud800b"], ids=["nul", "lone-surrogate"])
def test_text_postgresql_cannot_store_is_400(caller, text):
    body = '{"part_number": "3001", "color_id": 1, "condition": "new", "notes": "' + text + '"}'
    before = writes()
    response = caller.post("/api/v1/inventory/items/", data=body, content_type="application/json")
    assert "notes" in assert_envelope(response, 400, "validation_error")["details"]
    assert writes() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        (
            "post",
            "/api/v1/inventory/items/",
            b'{"part_number": "\xff\xfe", "color_id": 1, "condition": "new"}',
            "parse_error",
        ),
        ("get", "/api/v1/catalog/parts/%FF%FE/", None, "invalid_part_number"),
        ("get", "/api/v1/catalog/parts/3001%C0%AF/", None, "invalid_part_number"),
        ("get", "/api/v1/inventory/items/?part_number=%FF%FE", None, "validation_error"),
    ],
)
def test_bytes_that_are_not_utf8_are_400(caller, method, path, body, code):
    before = writes()
    if body is None:
        response = getattr(caller, method)(path)
    else:
        response = getattr(caller, method)(path, data=body, content_type="application/json")
    assert_envelope(response, 400, code)
    assert writes() == before


@pytest.mark.parametrize("page_size", ["1000000000", str(HUGE), "-1", "0", "abc", "1%00"])
def test_page_sizes_are_capped(caller, tenants, page_size):
    mine, _ = tenants
    now = clock.now()
    cap = django_settings.API_MAX_PAGE_SIZE
    InventoryItem.objects.bulk_create(
        InventoryItem(
            account=mine.account,
            part_number="3005",
            color_id=1,
            condition="new",
            created_at=now,
            updated_at=now,
        )
        for _ in range(cap + 1)
    )
    response = caller.get(f"/api/v1/inventory/items/?page_size={page_size}")
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["count"] == cap + 3  # two live items of the fixture, plus these
    assert 1 <= len(body["results"]) <= cap
