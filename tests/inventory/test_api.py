"""The inventory API: items, their history and re-syncs, scoped to the caller's account."""

import subprocess
import sys
from decimal import Decimal

import pytest
import yaml
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.models import InventoryHistory, InventoryItem, SyncState
from tests.factories import (
    AccountFactory,
    InventoryItemFactory,
    MarketplaceConnectionFactory,
    MembershipFactory,
    SyncStateFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

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


@pytest.fixture(autouse=True)
def published(monkeypatch):
    """What the services would send to the workers once their transaction commits (these
    tests never reach the broker)."""
    calls = []
    monkeypatch.setattr(
        "inventory.work.publish_sync",
        lambda item_id, provider, countdown=None: calls.append((item_id, provider)),
    )
    monkeypatch.setattr("inventory.work.publish_sweep", lambda: calls.append("sweep"))
    return calls


@pytest.fixture
def bricklink_on(account):
    return MarketplaceConnectionFactory(account=account, provider="bricklink")


def make_item(account, actor=None, **data):
    return services.item_create(account=account, actor=actor, data={**VALID, **data})


@pytest.fixture
def item(account, owner, fake_clock):
    return make_item(account, owner, quantity_available=10, price=Decimal("0.5"))


@pytest.fixture
def other_item():
    """An item of another account."""
    return make_item(AccountFactory(), None, quantity_available=3)


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


# --- create ------------------------------------------------------------------------------------


def test_item_create_answers_201_with_every_field(
    owner_client, owner, account, bricklink_on, fake_clock
):
    body = {
        "part_number": "3001",
        "color_id": 11,
        "name": "Brick 2 x 4",
        "condition": "used",
        "quantity_available": 12,
        "quantity_reserved": 1,
        "quantity_sold": 0,
        "status": "available",
        "location": "Bin A3",
        "price": "0.125",
        "notes": "scratched",
    }
    response = owner_client.post(ITEMS, body)
    assert response.status_code == 201, response.content
    item = InventoryItem.objects.get()
    assert response.json() == {
        "id": item.id,
        "part_number": "3001",
        "color_id": 11,
        "name": "Brick 2 x 4",
        "condition": "used",
        "quantity_available": 12,
        "quantity_reserved": 1,
        "quantity_sold": 0,
        "status": "available",
        "location": "Bin A3",
        "price": "0.1250",
        "notes": "scratched",
        "created_at": NOW,
        "updated_at": NOW,
        "sync": {
            "bricklink": {
                "status": "syncing",
                "lot_id": None,
                "last_error": None,
                "synced_at": None,
            },
            "brickowl": DISABLED,
        },
    }
    assert (item.account, item.created_by, item.version) == (account, owner, 1)
    assert item.price == Decimal("0.1250")


def test_item_create_fills_in_defaults(member_client, fake_clock):
    response = member_client.post(ITEMS, VALID)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in body if key not in ("id", "sync")} == {
        "part_number": "3001",
        "color_id": 11,
        "name": "",
        "condition": "new",
        "quantity_available": 0,
        "quantity_reserved": 0,
        "quantity_sold": 0,
        "status": "available",
        "location": "",
        "price": "0.0000",
        "notes": "",
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert body["sync"] == {"bricklink": DISABLED, "brickowl": DISABLED}


def test_item_create_by_a_member_works_and_records_them(member_client, member):
    response = member_client.post(ITEMS, {**VALID, "quantity_available": 4})
    assert response.status_code == 201
    assert InventoryItem.objects.get().created_by == member
    assert InventoryHistory.objects.get().actor == member


@pytest.mark.parametrize(
    ("price", "answered"),
    [
        ("0.1", "0.1000"),
        (0.5, "0.5000"),
        ("12345678.9999", "12345678.9999"),
        (3, "3.0000"),
        ("-0", "0.0000"),
        ("0", "0.0000"),
    ],
)
def test_item_price_is_answered_as_a_string_with_four_places(owner_client, price, answered):
    response = owner_client.post(ITEMS, {**VALID, "price": price})
    assert response.status_code == 201, response.content
    assert response.json()["price"] == answered
    assert owner_client.get(url(response.json()["id"])).json()["price"] == answered


def test_item_create_schedules_a_sync_once_committed(
    owner_client, bricklink_on, django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(ITEMS, VALID)
    assert response.status_code == 201
    assert len(callbacks) == 1
    assert published == [(response.json()["id"], "bricklink")]


def test_item_create_ignores_fields_the_api_owns(owner_client, account, fake_clock):
    other = AccountFactory()
    response = owner_client.post(
        ITEMS,
        {
            **VALID,
            "id": 987654,
            "account": other.id,
            "account_id": other.id,
            "archived": True,
            "version": 40,
            "created_at": "2000-01-01T00:00:00Z",
            "sync": {"bricklink": {"status": "synced", "lot_id": "1"}},
            "created_by": 1,
            "unknown": "x",
        },
    )
    assert response.status_code == 201, response.content
    item = InventoryItem.objects.get()
    assert item.id != 987654
    assert (item.account, item.archived, item.version) == (account, False, 1)
    assert response.json()["created_at"] == NOW
    assert response.json()["sync"]["bricklink"] == DISABLED


# --- validation --------------------------------------------------------------------------------

INVALID = [
    ("part_number", "bad$no"),
    ("part_number", ""),
    ("part_number", "-3001"),
    ("part_number", "x" * 41),
    ("part_number", "30\x0001"),
    ("part_number", None),
    ("color_id", -1),
    ("color_id", 1.5),
    ("color_id", True),
    ("color_id", "11"),
    ("color_id", None),
    ("color_id", 2**31),
    ("condition", "mint"),
    ("condition", ""),
    ("condition", None),
    ("status", "gone"),
    ("status", ""),
    ("quantity_available", -1),
    ("quantity_available", 1.5),
    ("quantity_available", True),
    ("quantity_available", "3"),
    ("quantity_available", None),
    ("quantity_available", 2**31),
    ("quantity_available", 1.0),
    ("quantity_reserved", -1),
    ("quantity_reserved", False),
    ("quantity_sold", 2.5),
    ("quantity_sold", -5),
    ("price", "-0.01"),
    ("price", -1),
    ("price", "0.12345"),
    ("price", "abc"),
    ("price", True),
    ("price", "123456789"),
    ("price", "1e20"),
    ("price", "NaN"),
    ("price", "Infinity"),
    ("price", None),
    ("price", [1]),
    ("name", "x" * 501),
    ("name", "a\x00b"),
    ("name", None),
    ("name", ["a"]),
    ("location", "x" * 201),
    ("location", "bin\x00"),
    ("notes", "x" * 2001),
    ("notes", "\x00"),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_item_create_rejects_bad_input_and_writes_nothing(
    owner_client, bricklink_on, django_capture_on_commit_callbacks, field, value
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(ITEMS, {**VALID, field: value})
    error = error_of(response, 400)
    assert field in error["details"]
    assert_nothing_written()
    assert callbacks == []


@pytest.mark.parametrize("field", ["part_number", "color_id", "condition"])
def test_item_create_requires_part_number_color_and_condition(owner_client, field):
    body = {key: value for key, value in VALID.items() if key != field}
    error = error_of(owner_client.post(ITEMS, body), 400)
    assert list(error["details"]) == [field]
    assert_nothing_written()


@pytest.mark.parametrize("body", [[VALID], "3001", 3001, None])
def test_item_create_needs_an_object(owner_client, body):
    response = owner_client.post(ITEMS, body, format="json")
    assert response.status_code == 400
    assert_nothing_written()


def test_item_create_rejects_lone_surrogates(owner_client):
    """JSON can carry "\\ud800", which UTF-8 (and PostgreSQL) cannot store: 400, not 500."""
    raw = '{"part_number": "3001", "color_id": 11, "condition": "new", "name": "\\ud800"}'
    response = owner_client.post(ITEMS, raw, content_type="application/json")
    assert "name" in error_of(response, 400)["details"]
    assert_nothing_written()


def test_item_create_rejects_malformed_json(owner_client):
    response = owner_client.post(ITEMS, '{"part_number": ', content_type="application/json")
    error_of(response, 400, "parse_error")
    assert_nothing_written()


@pytest.mark.parametrize(("field", "value"), [*INVALID, ("reason", "r" * 501), ("reason", "\x00")])
def test_item_update_rejects_bad_input_and_changes_nothing(
    owner_client, item, bricklink_on, django_capture_on_commit_callbacks, field, value
):
    before = snapshot(item)
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.patch(url(item.id), {"quantity_available": 1, field: value})
    assert field in error_of(response, 400)["details"]
    assert snapshot(item) == before
    assert callbacks == []


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


# --- filters -----------------------------------------------------------------------------------


def ids_of(client, **params):
    response = client.get(ITEMS, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


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


# --- tenancy and permissions -------------------------------------------------------------------


def test_another_accounts_item_is_404_everywhere(owner_client, item, other_item):
    before = snapshot(other_item)
    for response in [
        owner_client.get(url(other_item.id)),
        owner_client.patch(url(other_item.id), {"quantity_available": 0}),
        owner_client.patch(url(other_item.id), {"quantity_available": -1}),  # 404 before 400
        owner_client.delete(url(other_item.id)),
        owner_client.get(url(other_item.id, "history/")),
        owner_client.post(url(other_item.id, "sync/")),
    ]:
        error_of(response, 404, "not_found")
    assert snapshot(other_item) == before
    assert ids_of(owner_client) == {item.id}
    assert other_item.id not in ids_of(owner_client, part_number=other_item.part_number)
    assert other_item.id not in ids_of(owner_client, sync_status="disabled")


def test_an_archived_item_is_404_everywhere(owner_client, owner, item):
    services.item_archive(item=item, actor=owner)
    for response in [
        owner_client.get(url(item.id)),
        owner_client.patch(url(item.id), {"quantity_available": 0}),
        owner_client.delete(url(item.id)),
        owner_client.get(url(item.id, "history/")),
        owner_client.post(url(item.id, "sync/")),
    ]:
        error_of(response, 404, "not_found")
    assert ids_of(owner_client) == set()


@pytest.mark.parametrize("item_id", [0, 123456789, 99999999999999999999])
def test_a_missing_item_is_404(owner_client, item_id):
    error_of(owner_client.get(url(item_id)), 404, "not_found")
    error_of(owner_client.post(url(item_id, "sync/")), 404, "not_found")


def test_a_member_may_not_change_or_delete(member_client, item, bricklink_on):
    before = snapshot(item)
    error_of(member_client.patch(url(item.id), {"quantity_available": 1}), 403, "permission_denied")
    error_of(member_client.delete(url(item.id)), 403, "permission_denied")
    assert snapshot(item) == before
    assert member_client.get(url(item.id)).status_code == 200
    assert member_client.get(url(item.id, "history/")).status_code == 200
    assert member_client.post(url(item.id, "sync/")).status_code == 202


def test_a_members_change_of_another_accounts_item_is_404_not_403(member_client, other_item):
    """The contract: another account's object is 404, never 403 -- for a member too, whose
    own items answer 403 to the same request."""
    before = snapshot(other_item)
    error_of(member_client.patch(url(other_item.id), {"quantity_available": 1}), 404, "not_found")
    error_of(member_client.delete(url(other_item.id)), 404, "not_found")
    error_of(member_client.patch(url(123456789), {"quantity_available": 1}), 404, "not_found")
    assert snapshot(other_item) == before


def test_inventory_needs_authentication(api_client, item):
    for response in [
        api_client.get(ITEMS),
        api_client.post(ITEMS, VALID),
        api_client.get(url(item.id)),
        api_client.patch(url(item.id), {"quantity_available": 1}),
        api_client.delete(url(item.id)),
        api_client.get(url(item.id, "history/")),
        api_client.post(url(item.id, "sync/")),
    ]:
        error_of(response, 401, "not_authenticated")
    assert InventoryItem.objects.count() == 1


def test_inventory_needs_an_account(client_for, item):
    staff = client_for(UserFactory(is_staff=True))  # a user outside any business account
    error_of(staff.get(ITEMS), 403, "permission_denied")
    error_of(staff.post(ITEMS, VALID), 403, "permission_denied")
    error_of(staff.get(url(item.id)), 403, "permission_denied")


# --- OpenAPI -----------------------------------------------------------------------------------


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    """The CLI check, in a fresh process so no earlier schema generation's warnings count."""
    target = tmp_path / "schema.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(target),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert set(paths["/api/v1/inventory/items/"]) == {"get", "post"}
    assert set(paths["/api/v1/inventory/items/{item_id}/"]) == {"get", "patch", "delete"}
    assert set(paths["/api/v1/inventory/items/{item_id}/history/"]) == {"get"}
    assert set(paths["/api/v1/inventory/items/{item_id}/sync/"]) == {"post"}
    assert set(paths["/api/v1/marketplaces/"]) == {"get"}
    assert set(paths["/api/v1/marketplaces/bricklink/"]) == {"get", "put"}
    assert set(paths["/api/v1/marketplaces/brickowl/"]) == {"get", "put"}
    item_schema = schema["components"]["schemas"]["Item"]["properties"]
    assert set(item_schema) == {
        "id",
        "part_number",
        "color_id",
        "name",
        "condition",
        "quantity_available",
        "quantity_reserved",
        "quantity_sold",
        "status",
        "location",
        "price",
        "notes",
        "created_at",
        "updated_at",
        "sync",
    }
    credentials = schema["components"]["schemas"]["BrickLinkCredentialsRequest"]
    assert set(credentials["required"]) == set(services.REQUIRED_CREDENTIALS["bricklink"])
    assert "BrickLinkCredentials" not in schema["components"]["schemas"]  # never answered
