"""An item's audit trail and its "sync now", through the API."""

import pytest

from inventory.models import SyncState
from tests.factories import (
    MembershipFactory,
)
from tests.inventory.item_helpers import (
    NOW,
    make_item,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


# --- history -----------------------------------------------------------------------------------


def test_item_history_is_the_audit_trail_newest_first(
    owner_client, member_client, owner, member, item, fake_clock
):
    fake_clock.advance(minutes=1)
    owner_client.patch(
        url(item.id),
        {"quantity_available": 6, "quantity_sold": 4, "status": "sold", "reason": "show sale"},
    )
    fake_clock.advance(minutes=1)
    member_client.post(url(item.id, "sync/"))  # a re-sync is not a change
    response = member_client.get(url(item.id, "history/"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    update, create = body["results"]
    assert update == {
        "id": update["id"],
        "change_type": "update",
        "quantity_available_delta": -4,
        "quantity_reserved_delta": 0,
        "quantity_sold_delta": 4,
        "from_status": "available",
        "to_status": "sold",
        "actor": owner.username,
        "reason": "show sale",
        "created_at": "2026-11-20T10:01:00Z",
        "changes": {
            "quantity_available": [10, 6],
            "quantity_sold": [0, 4],
            "status": ["available", "sold"],
        },
    }
    assert create["id"] < update["id"]
    assert create["change_type"] == "create"
    assert (create["from_status"], create["to_status"]) == (None, "available")
    assert (create["quantity_available_delta"], create["reason"]) == (10, "")
    assert create["actor"] == owner.username
    assert create["changes"]["price"] == [None, "0.5"]
    assert create["created_at"] == NOW


def test_item_history_shows_a_deleted_actor_as_null(owner_client, account):
    actor = MembershipFactory(account=account, role="owner").user
    item = make_item(account, actor)
    actor.delete()
    history = owner_client.get(url(item.id, "history/")).json()
    assert history["results"][0]["actor"] is None


def test_item_history_is_paginated(owner_client, item):
    for quantity in range(1, 5):
        owner_client.patch(url(item.id), {"quantity_available": quantity})
    page = owner_client.get(url(item.id, "history/"), {"page_size": 2}).json()
    assert page["count"] == 5
    assert [row["change_type"] for row in page["results"]] == ["update", "update"]
    assert page["results"][0]["quantity_available_delta"] == 1  # 3 -> 4, the last change


# --- sync now ----------------------------------------------------------------------------------


def test_item_sync_now_queues_the_enabled_marketplaces(
    member_client, item, bricklink_on, django_capture_on_commit_callbacks, published
):
    SyncState.objects.filter(item=item).update(status="failed", attempts=6)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member_client.post(url(item.id, "sync/"))
    assert response.status_code == 202
    assert response.json() == {"queued": ["bricklink"]}
    state = SyncState.objects.get(item=item, provider="bricklink")
    assert (state.status, state.attempts) == ("syncing", 0)
    assert len(callbacks) == 1
    assert published == [(item.id, "bricklink")]


def test_item_sync_now_without_marketplaces_queues_nothing(owner_client, item, published):
    response = owner_client.post(url(item.id, "sync/"))
    assert response.status_code == 202
    assert response.json() == {"queued": []}
    assert published == []
