"""Inventory sync end to end: the API or the services, real worker processes, PostgreSQL,
Redis and both sandbox stores over HTTP."""

import random
import time
from decimal import Decimal

import pytest

from core import clock
from inventory.models import InventoryItem, MarketplaceConnection, Provider, SyncState
from inventory.services import item_archive, item_create, item_update, sync_sweep
from inventory.sync import marker_item_id, owl_item_id
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import SandboxProcess, wait_for

pytestmark = pytest.mark.worker

BL_KEY = SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]
BO_KEY = SandboxProcess.BRICKOWL_KEY


def connect(account):
    for provider, credentials in (
        (Provider.BRICKLINK, SandboxProcess.BRICKLINK_CREDENTIALS),
        (Provider.BRICKOWL, {"api_key": BO_KEY}),
    ):
        MarketplaceConnection.objects.create(
            account=account,
            provider=provider,
            enabled=True,
            credentials=credentials,
            updated_at=clock.now(),
        )


def stores(sandbox):
    bricklink = {
        marker_item_id(lot["remarks"]): lot for lot in sandbox.inventory("bricklink", BL_KEY)
    }
    brickowl = {
        owl_item_id(lot["external_lot_ids"].get("other")): lot
        for lot in sandbox.inventory("brickowl", BO_KEY)
    }
    return bricklink, brickowl


def settled() -> bool:
    return not SyncState.objects.filter(status__in=["pending", "syncing"]).exists()


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


PARTS = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023", "3024", "3069b"]
COLORS = [1, 5, 11, 86]


def random_changes(
    rng: random.Random, account, actor, count: int, max_items: int, pause: float = 0.0
) -> None:
    live: list[InventoryItem] = []
    created = 0
    for _ in range(count):
        time.sleep(pause)  # sellers edit while syncs run: changes meet syncs in flight
        roll = rng.random()
        if created < max_items and (not live or roll < 0.3):
            live.append(
                item_create(
                    account=account,
                    actor=actor,
                    data={
                        "part_number": rng.choice(PARTS),
                        "color_id": rng.choice(COLORS),
                        "condition": rng.choice(["new", "used"]),
                        "quantity_available": rng.randint(0, 20),
                        "price": Decimal(rng.randint(1, 2000)) / 1000,
                    },
                )
            )
            created += 1
        elif not live:
            continue
        elif roll < 0.9:
            item = rng.choice(live)
            data = {}
            for field, value in (
                ("quantity_available", rng.randint(0, 25)),
                ("price", Decimal(rng.randint(1, 2000)) / 1000),
                ("notes", rng.choice(["", "Mint", "Scratched"])),
                ("status", rng.choice(["available"] * 4 + ["reserved", "sold"])),
                ("location", rng.choice(["", "A1", "B7"])),
            ):
                if rng.random() < 0.5:
                    data[field] = value
            index = live.index(item)
            live[index] = item_update(item=item, actor=actor, data=data or {"notes": "x"})
        else:
            item = live.pop(rng.randrange(len(live)))
            item_archive(item=item, actor=actor)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_with_faults_converge_to_exactly_the_items(
    seed, sandbox, start_worker, transactional_db, settings
):
    """300 random creates/updates/deletes over 30 items while 20 % of marketplace calls fail
    (500, gateway 503, hang, applied-then-timed-out, 429) on both stores. When the queue has
    drained, every lot equals its item and there is no other lot."""
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
    random_changes(rng, account, actor, count=300, max_items=30, pause=0.03)
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
    assert not SyncState.objects.filter(status="failed").exists(), list(
        SyncState.objects.filter(status="failed").values("item_id", "provider", "last_error")
    )
    bricklink, brickowl = stores(sandbox)
    listed = {item.id: item for item in items if item.listed_quantity > 0}
    assert set(bricklink) == set(listed)  # no extra lot, none missing
    assert set(brickowl) == set(listed)
    assert len(sandbox.inventory("bricklink", BL_KEY)) == len(listed)  # one lot per item
    assert len(sandbox.inventory("brickowl", BO_KEY)) == len(listed)
    for item_id, item in listed.items():
        lot = bricklink[item_id]
        assert (lot["item"]["no"], lot["color_id"], lot["quantity"]) == (
            item.part_number,
            item.color_id,
            item.quantity_available,
        )
        assert lot["new_or_used"] == ("N" if item.condition == "new" else "U")
        assert Decimal(lot["unit_price"]) == item.price
        assert lot["description"] == item.notes
        owl = brickowl[item_id]
        assert int(owl["qty"]) == item.quantity_available
        assert Decimal(owl["price"]) == item.price.quantize(Decimal("0.001"))
    # The faults really happened: about a fifth of all calls, of every kind.
    assert sum(faults.values()) >= 0.1 * calls["total"]
    assert set(faults) == {"error_500", "html_503", "hang", "apply_then_timeout", "http_429"}
