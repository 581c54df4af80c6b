"""Requests and checks shared by the item API tests (tests/inventory/test_items_*.py)."""

from inventory import services
from inventory.models import InventoryHistory, InventoryItem, SyncState

ITEMS = "/api/v1/inventory/items/"
NOW = "2026-11-20T10:00:00Z"
VALID = {"part_number": "3001", "color_id": 11, "condition": "new"}
DISABLED = {"status": "disabled", "lot_id": None, "last_error": None, "synced_at": None}


def url(item_id, suffix=""):
    return f"{ITEMS}{item_id}/{suffix}"


def error_of(response, status, code="validation_error"):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    return body["error"]


def make_item(account, actor=None, **data):
    return services.item_create(account=account, actor=actor, data={**VALID, **data})


def assert_nothing_written():
    assert not InventoryItem.objects.exists()
    assert not InventoryHistory.objects.exists()
    assert not SyncState.objects.exists()


def snapshot(item):
    """Everything the API could have changed about an item."""
    item = InventoryItem.objects.get(pk=item.pk)
    return (
        {f.name: getattr(item, f.name) for f in InventoryItem._meta.fields},
        list(InventoryHistory.objects.filter(item=item).values_list("id", flat=True)),
        list(SyncState.objects.filter(item=item).values("provider", "status", "attempts")),
    )


def ids_of(client, **params):
    response = client.get(ITEMS, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}
