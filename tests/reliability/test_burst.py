"""Many items created at once for one account, synced by real workers at the default per-account
limits: all synced, no call wasted (a step pays for its calls before making them, and an
account's syncs queue in order instead of racing), in about the time the limits allow.

The suite runs 10 items; ``make chaos`` (CHAOS=1) runs 100 and writes the figures to
bench/results/reliability.json."""

from __future__ import annotations

import time

import pytest

from inventory.models import SyncState
from inventory.services import item_create
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import wait_for
from tests.inventory.scenario import COLORS, PARTS, assert_stores_match_items, connect
from tests.longform import LONG

pytestmark = [
    pytest.mark.worker,
    pytest.mark.exact_sandbox("counts calls per item"),
]

ITEMS = 100 if LONG else 10


def _calls_by_provider(calls: dict) -> dict[str, int]:
    counted = {"bricklink": 0, "brickowl": 0}
    for endpoint, n in calls["by_endpoint"].items():
        counted[endpoint.split("/")[1]] += n
    return counted


def per_second(limit: str) -> float:
    """A default limit's steady pace: its token bucket's rate, per second."""
    from config.settings.marketplaces import RATE_LIMITS

    [bucket] = [rule for rule in RATE_LIMITS[limit]["rules"] if rule["kind"] == "token_bucket"]
    return bucket["rate"] / bucket["period"]


def _ideal_seconds(calls: dict[str, int]) -> float:
    """calls / rate for the slower marketplace, at the default limits (the seller's share
    for syncs; the platform's look-ups have their own)."""
    bricklink = calls["bricklink"] / per_second("bricklink:account")
    brickowl = calls["brickowl"] / per_second("brickowl:account")
    return max(bricklink, brickowl)


def test_a_burst_of_new_items_syncs_at_the_pace_of_the_limits_without_wasting_calls(
    sole_workers, start_worker, sandbox, transactional_db, record
):
    # One sync per item, paced by the limits: uploads in batches (tests/inventory/
    # test_upload*.py) are kept out of it.
    start_worker(
        concurrency=4, env={"TEST_DEFAULT_RATE_LIMITS": "1", "INVENTORY_UPLOAD_MIN": "1000000"}
    )
    account = AccountFactory()
    connect(account)
    owner = MembershipFactory(account=account, role="owner").user
    started = time.monotonic()
    items = [
        item_create(
            account=account,
            actor=owner,
            data={
                # As a seller's lots are: a part in several colors.
                "part_number": PARTS[n // len(COLORS) % len(PARTS)],
                "color_id": COLORS[n % len(COLORS)],
                "condition": "new",
                "quantity_available": 1 + n % 7,
                "price": "0.1000",
            },
        )
        for n in range(ITEMS)
    ]
    states = SyncState.objects.filter(item__account=account)
    wait_for(
        lambda: states.filter(status="synced").count() == 2 * ITEMS,
        timeout=60 + 3 * ITEMS,
        interval=0.1,
        message=f"{ITEMS} items to sync on both marketplaces",
    )
    elapsed = time.monotonic() - started
    assert_stores_match_items(sandbox, account)
    calls = _calls_by_provider(sandbox.calls())
    # BrickLink: the create, nothing else. BrickOwl: the create, plus the platform's look-up
    # of each part's BOID (shared by the items of that part) and the color list once.
    parts = len({item.part_number for item in items})
    assert calls["bricklink"] == ITEMS, calls
    assert calls["brickowl"] == ITEMS + parts + 1, calls
    assert calls["brickowl"] <= 2 * ITEMS, calls
    ideal = _ideal_seconds(calls)
    record(
        "burst",
        {"items": ITEMS, "calls": calls, "seconds": round(elapsed, 1), "ideal": round(ideal, 1)},
    )
    assert elapsed <= 1.2 * ideal, f"{elapsed:.1f} s for {calls}, ideal {ideal:.1f} s"
