"""A first upload end to end: thousands of new items reach two empty stores through a real
worker in batches, in a few hundred calls per marketplace at most (10,000 items in at most 300:
the long form; the suite runs 600 and holds them to the same rate), and a batch BrickLink
applied without answering makes no lot twice."""

from decimal import Decimal

import pytest

from inventory.models import SyncState
from inventory.scheduling import sync_batch
from inventory.services import items_create_many
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import wait_for
from tests.inventory.scenario import assert_stores_match_items, connect, duplicate_creates, settled
from tests.longform import LONG

pytestmark = pytest.mark.worker

ITEMS = 10_000 if LONG else 600
CALLS_PER_10000 = 300


def calls_to(calls: dict, provider: str) -> int:
    return sum(
        n
        for endpoint, n in calls["by_endpoint"].items()
        if endpoint.split()[1].startswith(f"/{provider}/")
    )


@pytest.mark.exact_sandbox("counts the calls of the upload")
def test_thousands_of_new_items_reach_two_empty_stores_in_batches(worker, sandbox, sandbox_catalog):
    account = AccountFactory()
    connect(account)
    owner = MembershipFactory(account=account, role="owner").user
    # The first array BrickLink gets is applied and never answered: its lots must be found
    # by their markers, not created again.
    sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "POST",
                "path": "^/inventories",
                "apply_then_timeout": 1.0,
                "times": 1,
                "hang_seconds": 2.5,
            }
        ]
    )
    parts = [p for p in sandbox_catalog.parts() if p.boid]
    # A part, color and condition may come back (the long form has more items than the
    # session sandbox's catalog has combinations): a seller may keep two such lots.
    combos = [(p.no, color) for p in parts for color, _ in p.colors]
    # Written as a file import writes them: in bulk, one sweep after commit, no message per
    # item.
    datas = [
        {
            "part_number": combos[index // 2 % len(combos)][0],
            "color_id": combos[index // 2 % len(combos)][1],
            "condition": ("new", "used")[index % 2],
            "quantity_available": 1 + index % 9,
            "price": Decimal("0.01") * (1 + index % 50),
            "location": f"S{index // 100}-{index % 100}",
        }
        for index in range(ITEMS)
    ]
    with sync_batch():
        items_create_many(account=account, actor=owner, datas=datas, change_type="import")
    wait_for(settled, timeout=600 if LONG else 180, interval=1, message="every item on both stores")
    assert_stores_match_items(sandbox, account)
    assert not SyncState.objects.filter(item__account=account).exclude(status="synced").exists()
    calls = sandbox.calls()
    limit = ITEMS * CALLS_PER_10000 // 10_000
    figures = {"bricklink": calls_to(calls, "bricklink"), "brickowl": calls_to(calls, "brickowl")}
    assert figures["bricklink"] <= limit, calls["by_endpoint"]
    assert figures["brickowl"] <= limit, calls["by_endpoint"]
    # Batches, not one call per item.
    assert calls["by_endpoint"].get("POST /brickowl/inventory/create", 0) == 0
    assert calls["batched"]["POST /brickowl/inventory/create"] == ITEMS
    assert sum(rule["injected"] for rule in sandbox.control()["faults"]) == 1
    assert duplicate_creates(sandbox.ledger()) == {"bricklink": 0, "brickowl": 0}
