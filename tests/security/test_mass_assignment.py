"""Fields the API owns, sent in a write, are ignored: never applied.

(``PUT /api/v1/marketplaces/...`` with ``account``/``configured``/``provider`` is covered by
tests/inventory/test_connections_api.py::test_put_ignores_fields_the_api_owns.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from catalog.models import Priority, RefreshJob
from inventory.models import InventoryItem, SyncState

pytestmark = pytest.mark.django_db

LONG_AGO = "2001-01-01T00:00:00Z"


def owned_fields(theirs, other_user) -> dict:
    """Everything an attacker would like to set on an item."""
    return {
        "id": 424242,
        "account": theirs.account.pk,
        "account_id": theirs.account.pk,
        "version": 999,
        "created_by": other_user.pk,
        "created_by_id": other_user.pk,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "archived": True,
        "archived_at": LONG_AGO,
        "sync": {
            "bricklink": {
                "status": "synced",
                "lot_id": "1",
                "last_error": None,
                "synced_at": LONG_AGO,
            },
            "brickowl": {"status": "synced", "lot_id": "2"},
        },
        "sync_states": [{"provider": "bricklink", "status": "synced"}],
        "lot_id": "777",
        "in_doubt": True,
        "confirmed": {"quantity": 1},
    }


def assert_not_applied(item: InventoryItem, mine, *, version: int) -> None:
    assert item.pk != 424242
    assert item.account_id == mine.account.pk
    assert item.version == version
    assert item.created_by_id in (None, mine.owner.pk)
    assert item.created_at.year > 2001
    assert item.updated_at.year > 2001
    assert item.archived is False
    assert item.archived_at is None
    assert not SyncState.objects.filter(item=item, status="synced").exists()
    assert not SyncState.objects.filter(item=item, lot_id__in=["1", "2", "777"]).exists()


def test_a_create_ignores_every_field_the_api_owns(tenants):
    mine, theirs = tenants
    caller = Client(HTTP_AUTHORIZATION=f"Token {mine.owner_token}")
    body = {
        "part_number": "3001",
        "color_id": 11,
        "condition": "new",
        "quantity_available": 3,
        **owned_fields(theirs, theirs.owner),
    }
    response = caller.post("/api/v1/inventory/items/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"] != 424242
    assert data["quantity_available"] == 3
    assert {state["status"] for state in data["sync"].values()} == {"disabled"}
    assert_not_applied(InventoryItem.objects.get(pk=data["id"]), mine, version=1)
    assert not InventoryItem.objects.filter(pk=424242).exists()


def test_an_update_ignores_every_field_the_api_owns(tenants):
    mine, theirs = tenants
    item = mine.items[0]
    version = InventoryItem.objects.get(pk=item.pk).version
    caller = Client(HTTP_AUTHORIZATION=f"Token {mine.owner_token}")
    body = {"quantity_available": 9, **owned_fields(theirs, theirs.owner)}
    response = caller.patch(
        f"/api/v1/inventory/items/{item.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == item.pk
    stored = InventoryItem.objects.get(pk=item.pk)
    assert stored.quantity_available == 9
    assert_not_applied(stored, mine, version=version + 1)  # one real change, one version


def test_an_update_of_only_owned_fields_changes_nothing(tenants):
    mine, theirs = tenants
    item = mine.items[0]
    before = InventoryItem.objects.filter(pk=item.pk).values().get()
    caller = Client(HTTP_AUTHORIZATION=f"Token {mine.owner_token}")
    response = caller.patch(
        f"/api/v1/inventory/items/{item.pk}/",
        owned_fields(theirs, theirs.owner),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert InventoryItem.objects.filter(pk=item.pk).values().get() == before


def test_refresh_requests_cannot_choose_their_priority_status_or_id(tenants):
    mine, _ = tenants
    caller = Client(HTTP_AUTHORIZATION=f"Token {mine.member_token}")
    extra = {
        "priority": Priority.LOW,
        "status": "succeeded",
        "outbox_id": 5,
        "id": 5,
        "attempts": 99,
        "next_attempt_at": "2999-01-01T00:00:00Z",
    }
    single = caller.post(
        "/api/v1/catalog/parts/3002/price-guide/refresh/",
        {"color_id": 11, **extra},
        content_type="application/json",
    )
    bulk = caller.post(
        "/api/v1/catalog/refresh/",
        {"items": [{"kind": "part", "no": "3003", **extra}], **extra},
        content_type="application/json",
    )
    assert single.status_code == bulk.status_code == 202
    # The rows these requests asked for (the tenants' items asked for their parts already).
    asked = RefreshJob.objects.filter(resource__in=["price_guide:3002:11", "part:3003"])
    assert asked.count() == 2
    for job in asked:
        assert job.priority == Priority.HIGH
        assert job.status == "pending"
        assert job.attempts == 0
        assert job.next_attempt_at < datetime(2999, 1, 1, tzinfo=UTC)
    # No other row: the extra fields made nothing of their own (the tenants' items asked for
    # part:3002 before).
    assert set(
        RefreshJob.objects.filter(no__in=["3002", "3003"]).values_list("resource", flat=True)
    ) == {"price_guide:3002:11", "part:3003", "part:3002"}
