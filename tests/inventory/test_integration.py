"""Inventory sync end to end: the API or the services, real worker processes, PostgreSQL,
Redis and both sandbox stores over HTTP."""

import random
import time

import pytest

from inventory.models import InventoryItem
from inventory.services import item_update
from inventory.work import sync_sweep
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import wait_for
from tests.inventory.scenario import (
    ApiChanges,
    assert_stores_match_items,
    connect,
    duplicate_creates,
    random_changes,
    settled,
    stores,
)
from tests.longform import LONG

pytestmark = pytest.mark.worker


def test_create_update_delete_reach_both_stores_through_a_worker(worker, sandbox, client_for):
    account = AccountFactory()
    connect(account)
    api = client_for(MembershipFactory(account=account, role="owner").user)
    created = api.post(
        "/api/v1/inventory/items/",
        {
            "part_number": "3001",
            "color_id": 11,
            "condition": "new",
            "quantity_available": 6,
            "price": "0.1500",
            "notes": "Bright",
        },
    )
    assert created.status_code == 201, created.content
    item_id = created.json()["id"]
    assert created.json()["sync"]["bricklink"]["status"] == "syncing"
    wait_for(settled, message="the create to sync")
    bricklink, brickowl = stores(sandbox)
    assert bricklink[item_id]["quantity"] == 6
    assert brickowl[item_id]["qty"] == "6"
    body = api.get(f"/api/v1/inventory/items/{item_id}/").json()
    assert body["sync"]["bricklink"]["status"] == "synced"
    assert body["sync"]["bricklink"]["lot_id"] == str(bricklink[item_id]["inventory_id"])
    assert body["sync"]["brickowl"]["lot_id"] == brickowl[item_id]["lot_id"]

    assert (
        api.patch(f"/api/v1/inventory/items/{item_id}/", {"quantity_available": 2}).status_code
        == 200
    )
    wait_for(settled, message="the update to sync")
    bricklink, brickowl = stores(sandbox)
    assert (bricklink[item_id]["quantity"], brickowl[item_id]["qty"]) == (2, "2")

    assert api.delete(f"/api/v1/inventory/items/{item_id}/").status_code == 204
    wait_for(settled, message="the delete to sync")
    assert stores(sandbox) == ({}, {})


def test_a_sellers_session_through_the_api_reaches_both_stores_exactly(worker, sandbox, client_for):
    """80 creates, edits and deletes through the API while the worker syncs. Once it has
    caught up, every item reads synced on both marketplaces and each store holds exactly the
    items. In fault mode (tests/faultmode.py) this is the suite's busiest run under faults."""
    account = AccountFactory()
    connect(account)
    api = client_for(MembershipFactory(account=account, role="owner").user)
    rng = random.Random(5)
    random_changes(rng, account, None, count=80, max_items=30, via=ApiChanges(api))
    wait_for(settled, timeout=120, interval=0.25, message="the syncs to catch up")
    assert_stores_match_items(sandbox, account)
    assert duplicate_creates(sandbox.ledger()) == {"bricklink": 0, "brickowl": 0}
    listed = api.get("/api/v1/inventory/items/", {"page_size": 500}).json()["results"]
    assert 20 <= len(listed) <= 30
    for row in listed:
        assert {p: row["sync"][p]["status"] for p in ("bricklink", "brickowl")} == {
            "bricklink": "synced",
            "brickowl": "synced",
        }, row


@pytest.mark.parametrize("seed", [1, 2, 3] if LONG else [1])
def test_random_changes_with_faults_converge_to_exactly_the_items(
    seed, sandbox, start_worker, transactional_db, settings
):
    """300 random creates/updates/deletes (80 in the short form) over 30 items while 20 % of
    marketplace calls fail (500, gateway 503, hang, applied-then-timed-out, 429) on both
    stores. When the queue has drained, every lot equals its item and there is no other lot."""
    settings.INVENTORY_SYNC_QUEUE = "inventory-property"
    fast = {
        "INVENTORY_SYNC_QUEUE": "inventory-property",
        "MARKETPLACE_READ_TIMEOUT": "1",
        "MARKETPLACE_DEADLINE": "3",
        "INVENTORY_SYNC_RETRY_BASE_SECONDS": "0.2",
        "INVENTORY_SYNC_RETRY_CAP_SECONDS": "2",
        "INVENTORY_SYNC_RETRY_JITTER_SECONDS": "0.2",
        "INVENTORY_SYNC_MAX_ATTEMPTS": "40",
        "INVENTORY_SYNC_LEASE_SECONDS": "30",
    }
    start_worker(queues="inventory-property", concurrency=4, env=fast)
    sandbox.control(
        seed=seed,
        faults=[
            {
                "provider": "*",
                "error_500": 0.04,
                "html_503": 0.04,
                "hang": 0.04,
                "apply_then_timeout": 0.04,
                "http_429": 0.04,
                "hang_seconds": 1.5,
            }
        ],
    )
    account = AccountFactory()
    connect(account)
    actor = MembershipFactory(account=account, role="owner").user
    rng = random.Random(seed)
    random_changes(rng, account, actor, count=300 if LONG else 80, max_items=30, pause=0.03)
    # A last change to every live item: an effect applied twice on an item's final change
    # would have no later change to hide behind.
    for item in InventoryItem.objects.filter(account=account, archived=False):
        item_update(
            item=item,
            actor=actor,
            data={"quantity_available": rng.randint(1, 30), "status": "available"},
        )

    deadline = time.monotonic() + 300
    while not settled():
        assert time.monotonic() < deadline, "the syncs did not settle in 5 minutes"
        sync_sweep()  # what beat does every minute: take back dead runs, send due syncs
        time.sleep(1)
    calls = sandbox.calls()
    faults = calls["faults"]
    sandbox.control(faults=[])

    items = list(InventoryItem.objects.filter(account=account))
    assert 20 <= len(items) <= 30
    assert_stores_match_items(sandbox, account)
    # Applied-then-timed-out creates were found by marker / external id, never made again.
    assert duplicate_creates(sandbox.ledger()) == {"bricklink": 0, "brickowl": 0}
    # The faults really happened: about a fifth of all calls, of every kind.
    assert sum(faults.values()) >= 0.1 * calls["total"]
    assert set(faults) == {"error_500", "html_503", "hang", "apply_then_timeout", "http_429"}
