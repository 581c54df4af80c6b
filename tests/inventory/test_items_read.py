"""Reading inventory items through the API: one item, the paginated list and its filters."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryItem, SyncState
from tests.factories import (
    InventoryItemFactory,
    SyncStateFactory,
)
from tests.inventory.item_helpers import (
    DISABLED,
    ITEMS,
    NOW,
    error_of,
    ids_of,
    make_item,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


# --- read --------------------------------------------------------------------------------------


def test_item_get_shows_each_marketplace_state(owner_client, item, fake_clock):
    SyncState.objects.filter(item=item).delete()
    SyncStateFactory(
        item=item,
        provider="bricklink",
        status="failed",
        lot_id="",
        last_error={
            "code": "invalid",
            "message": "BrickLink refused",
            "at": NOW,
            "status": 400,
            "body": "secret-ish detail",
        },
        synced_at=None,
    )
    response = owner_client.get(url(item.id))
    assert response.status_code == 200
    assert response.json()["sync"] == {
        "bricklink": {
            "status": "failed",
            "lot_id": None,
            "synced_at": None,
            "last_error": {"code": "invalid", "message": "BrickLink refused", "at": NOW},
        },
        "brickowl": DISABLED,  # no state at all
    }
    SyncState.objects.all().delete()
    SyncStateFactory(item=item, provider="brickowl", lot_id="77123", last_error=None)
    assert owner_client.get(url(item.id)).json()["sync"]["brickowl"] == {
        "status": "synced",
        "lot_id": "77123",
        "last_error": None,
        "synced_at": NOW,
    }


def test_item_list_is_newest_first_and_paginated(member_client, account):
    ids = [make_item(account, part_number=f"300{n}").id for n in range(5)]
    first = member_client.get(ITEMS, {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 5
    assert [row["id"] for row in body["results"]] == ids[::-1][:2]
    assert body["next"]
    second = member_client.get(body["next"]).json()
    assert [row["id"] for row in second["results"]] == ids[::-1][2:4]
    full = member_client.get(ITEMS).json()
    assert [row["id"] for row in full["results"]] == ids[::-1]
    assert full["results"][0] == member_client.get(url(ids[-1])).json()


def test_item_list_reads_sync_states_without_a_query_per_item(member_client, account):
    def queries_for(count):
        InventoryItem.objects.all().delete()
        for _ in range(count):
            item = InventoryItemFactory(account=account)
            SyncStateFactory(item=item, provider="bricklink")
            SyncStateFactory(item=item, provider="brickowl", last_error={"code": "x"})
        with CaptureQueriesContext(connection) as context:
            response = member_client.get(ITEMS)
        assert len(response.json()["results"]) == count
        return len(context)

    assert queries_for(2) == queries_for(8)


# --- filters -----------------------------------------------------------------------------------


def test_item_list_filters(member_client, account):
    a = make_item(account, part_number="3001", color_id=11, condition="new")
    b = make_item(account, part_number="3001", color_id=5, condition="used", status="sold")
    c = make_item(account, part_number="3622", color_id=11, condition="used", status="reserved")
    assert ids_of(member_client, part_number="3001") == {a.id, b.id}
    assert ids_of(member_client, color_id=11) == {a.id, c.id}
    assert ids_of(member_client, condition="used") == {b.id, c.id}
    assert ids_of(member_client, status="sold") == {b.id}
    assert ids_of(member_client, part_number="3001", color_id=11, condition="new") == {a.id}
    assert ids_of(member_client, part_number="9999") == set()
    assert ids_of(member_client, color_id=0) == set()
    assert ids_of(member_client, unknown="x") == {a.id, b.id, c.id}


def test_item_list_filters_by_any_marketplace_sync_status(member_client, account):
    def item_with(**states):
        item = InventoryItemFactory(account=account)
        for provider, status in states.items():
            SyncStateFactory(item=item, provider=provider, status=status)
        return item

    both_synced = item_with(bricklink="synced", brickowl="synced")
    one_failed = item_with(bricklink="failed", brickowl="synced")
    syncing_and_off = item_with(bricklink="syncing", brickowl="disabled")
    only_bricklink = item_with(bricklink="pending")  # brickowl: no state
    never = item_with()
    assert ids_of(member_client, sync_status="synced") == {both_synced.id, one_failed.id}
    assert ids_of(member_client, sync_status="failed") == {one_failed.id}
    assert ids_of(member_client, sync_status="syncing") == {syncing_and_off.id}
    assert ids_of(member_client, sync_status="pending") == {only_bricklink.id}
    assert ids_of(member_client, sync_status="disabled") == {
        syncing_and_off.id,
        only_bricklink.id,
        never.id,
    }
    assert ids_of(member_client, sync_status="synced", part_number=one_failed.part_number) == {
        one_failed.id
    }


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "gone"),
        ("condition", "mint"),
        ("sync_status", "stuck"),
        ("color_id", "abc"),
        ("color_id", "-1"),
        ("color_id", "1.5"),
        ("color_id", str(2**40)),
        ("part_number", "bad$no"),
        ("part_number", "30\x0001"),
        ("status", "\x00"),
    ],
)
def test_item_list_rejects_bad_filters(member_client, item, param, value):
    error = error_of(member_client.get(ITEMS, {param: value}), 400)
    assert param in error["details"]
