"""Changing and deleting (archiving) inventory items through the API."""

import pytest

from inventory.models import InventoryHistory, InventoryItem
from tests.factories import (
    AccountFactory,
)
from tests.inventory.item_helpers import (
    ITEMS,
    NOW,
    VALID,
    error_of,
    snapshot,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


# --- update ------------------------------------------------------------------------------------


def test_item_update_changes_what_is_sent_and_keeps_the_rest(
    owner_client,
    owner,
    item,
    bricklink_on,
    fake_clock,
    django_capture_on_commit_callbacks,
    published,
):
    fake_clock.advance(minutes=5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.patch(
            url(item.id),
            {
                "quantity_available": 7,
                "quantity_reserved": 3,
                "status": "reserved",
                "price": "0.0625",
                "reason": "held for a customer",
            },
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["quantity_available"], body["quantity_reserved"]) == (7, 3)
    assert body["status"] == "reserved"
    assert (body["price"], body["part_number"], body["condition"]) == ("0.0625", "3001", "new")
    assert (body["created_at"], body["updated_at"]) == (NOW, "2026-11-20T10:05:00Z")
    assert body["sync"]["bricklink"]["status"] == "syncing"
    assert "reason" not in body
    item.refresh_from_db()
    assert (item.version, item.quantity_available) == (2, 7)
    assert len(callbacks) == 1
    assert published == [(item.id, "bricklink")]


def test_item_update_ignores_fields_the_api_owns(owner_client, item, account):
    other = AccountFactory()
    response = owner_client.patch(
        url(item.id),
        {
            "id": item.id + 100,
            "account": other.id,
            "version": 99,
            "archived": True,
            "created_at": "2000-01-01T00:00:00Z",
            "sync": {},
            "created_by": None,
            "name": "renamed",
        },
    )
    assert response.status_code == 200, response.content
    stored = InventoryItem.objects.get(pk=item.pk)
    assert (stored.name, stored.account) == ("renamed", account)
    assert (stored.version, stored.archived) == (2, False)
    assert stored.created_at == item.created_at


def test_item_update_that_changes_nothing_writes_nothing(
    owner_client, item, bricklink_on, django_capture_on_commit_callbacks
):
    before = snapshot(item)
    with django_capture_on_commit_callbacks() as callbacks:
        same = owner_client.patch(url(item.id), {"quantity_available": 10, "reason": "no-op"})
        empty = owner_client.patch(url(item.id), {})
    assert (same.status_code, empty.status_code) == (200, 200)
    assert snapshot(item) == before
    assert callbacks == []


def test_item_put_is_not_allowed(owner_client, item):
    error_of(owner_client.put(url(item.id), VALID), 405, "method_not_allowed")


# --- delete ------------------------------------------------------------------------------------


def test_item_delete_archives_and_the_item_is_gone(
    owner_client, owner, item, bricklink_on, django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.delete(url(item.id) + "?reason=broken%20lot")
    assert response.status_code == 204
    assert response.content == b""
    stored = InventoryItem.objects.get(pk=item.pk)
    assert stored.archived
    assert stored.archived_at is not None
    row = InventoryHistory.objects.filter(item=item).first()
    assert (row.change_type, row.actor, row.reason) == ("delete", owner, "broken lot")
    assert (row.quantity_available_delta, row.from_status, row.to_status) == (-10, "available", "")
    assert published == [(item.id, "bricklink")]  # the worker removes the lot
    error_of(owner_client.get(url(item.id)), 404, "not_found")
    assert owner_client.get(ITEMS).json()["count"] == 0
    error_of(owner_client.delete(url(item.id)), 404, "not_found")


def test_item_delete_with_a_bad_reason_is_400_and_archives_nothing(owner_client, item):
    error_of(owner_client.delete(url(item.id) + "?reason=" + "r" * 501), 400)
    assert not InventoryItem.objects.get(pk=item.pk).archived
