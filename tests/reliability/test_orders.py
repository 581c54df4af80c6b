"""Random orders, status changes and cancellations on both marketplaces while the order
endpoints fail a fifth of their calls (500, HTML 503, hang, 429), pushes get lost and a worker is
killed mid-ingestion: once everything has drained, every order was applied exactly once --
every item's quantities and every lot are what the orders imply.

The suite runs 12 orders; ``make chaos`` (CHAOS=1) runs 100 with three seeds."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from core.services import periodic_schedules_sync
from inventory.models import InventoryHistory, InventoryItem, MarketplaceConnection
from inventory.services import item_create
from orders.models import Order, OrderFeed
from tests.conftest import sandbox_env
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import BeatProcess, wait_for
from tests.inventory.scenario import (
    BL_KEY,
    BO_KEY,
    assert_stores_match_items,
    connect,
    duplicate_creates,
    settled,
    stores,
)
from tests.longform import LONG

pytestmark = [pytest.mark.worker, pytest.mark.exact_sandbox("stages its own order faults")]

SEEDS, ORDERS, ITEMS = ([1, 2, 3], 100, 12) if LONG else ([5], 12, 6)
ENV = {
    "INVENTORY_SYNC_LEASE_SECONDS": "3",
    "CATALOG_LEASE_SECONDS": "3",
    "ORDERS_LEASE_SECONDS": "3",
    "INVENTORY_SLOT_LEASE_SECONDS": "3",
    "OUTBOX_REDISPATCH_SECONDS": "3",
    "ORDERS_RETRY_BASE_SECONDS": "0.2",
    "ORDERS_RETRY_CAP_SECONDS": "2",
    "ORDERS_MAX_ATTEMPTS": "30",
    "INVENTORY_SYNC_RETRY_BASE_SECONDS": "0.2",
    "INVENTORY_SYNC_RETRY_CAP_SECONDS": "2",
    "INVENTORY_SYNC_MAX_ATTEMPTS": "40",
    "MARKETPLACE_READ_TIMEOUT": "2",
    "MARKETPLACE_DEADLINE": "4",
}
FAULTS = {"error_500": 0.05, "html_503": 0.05, "hang": 0.05, "http_429": 0.05, "hang_seconds": 3}


@dataclass
class Model:
    """What the orders imply, kept by the test as it plays buyers and marketplaces."""

    available: dict[int, int]
    reserved: Counter = field(default_factory=Counter)
    sold: Counter = field(default_factory=Counter)
    orders: list[dict] = field(default_factory=list)  # provider, id, item, quantity, state


def play(sandbox, rng: random.Random, model: Model, items: list, count: int) -> None:
    """Buyers order on either store (never more than the item has left: no oversell), and
    marketplaces ship or cancel earlier orders."""
    placed = 0
    while placed < count:
        open_orders = [o for o in model.orders if o["state"] == "open"]
        if open_orders and rng.random() < 0.35:
            order = rng.choice(open_orders)
            key = BL_KEY if order["provider"] == "bricklink" else BO_KEY
            if rng.random() < 0.5:
                status = "SHIPPED" if order["provider"] == "bricklink" else "Shipped"
                sandbox.order_change(
                    op="status",
                    provider=order["provider"],
                    account=key,
                    order_id=order["id"],
                    status=status,
                )
                order["state"] = "completed"
                model.reserved[order["item"]] -= order["quantity"]
                model.sold[order["item"]] += order["quantity"]
            else:
                sandbox.order_change(
                    op="cancel", provider=order["provider"], account=key, order_id=order["id"]
                )
                order["state"] = "cancelled"
                model.reserved[order["item"]] -= order["quantity"]
                model.available[order["item"]] += order["quantity"]
            continue
        item = rng.choice(items)
        provider = rng.choice(["bricklink", "brickowl"])
        bricklink, brickowl = stores(sandbox)
        lot = (bricklink if provider == "bricklink" else brickowl).get(item.pk)
        if lot is None:
            time.sleep(0.1)  # not listed (sold out, or not synced yet)
            continue
        on_lot = int(lot["quantity"] if provider == "bricklink" else lot["qty"])
        quantity = min(rng.randint(1, 3), on_lot, model.available[item.pk])
        if quantity <= 0:
            continue
        lot_id = lot["inventory_id"] if provider == "bricklink" else lot["lot_id"]
        placed_order = sandbox.order_change(
            op="place",
            provider=provider,
            account=BL_KEY if provider == "bricklink" else BO_KEY,
            buyer=f"buyer{placed}",
            lines=[{"lot_id": lot_id, "quantity": quantity}],
        )
        model.available[item.pk] -= quantity
        model.reserved[item.pk] += quantity
        model.orders.append(
            {
                "provider": provider,
                "id": placed_order["order_id"],
                "item": item.pk,
                "quantity": quantity,
                "state": "open",
            }
        )
        placed += 1
        time.sleep(rng.uniform(0.05, 0.3))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_orders_under_faults_and_a_killed_worker_apply_exactly_once(
    seed, sole_workers, start_worker, sandbox, live_server, transactional_db, settings, record
):
    rng = random.Random(seed)
    env = {**sandbox_env(sandbox), **ENV}
    workers = [start_worker(concurrency=3, env=env) for _ in range(2)]
    settings.OUTBOX_SWEEP_SECONDS = 1
    settings.ORDERS_POLL_SECONDS = 3
    periodic_schedules_sync(reset=True)
    beat = BeatProcess(env=env).start()
    try:
        account = AccountFactory()
        connect(account)
        owner = MembershipFactory(account=account, role="owner").user
        push_urls = {}
        for provider, key in (("bricklink", BL_KEY), ("brickowl", BO_KEY)):
            connection = MarketplaceConnection.objects.get(account=account, provider=provider)
            connection.callback_secret = f"{provider}-{seed}-push-secret-for-the-fault-test"
            connection.save()
            push_urls[key] = (
                f"{live_server.url}/api/v1/hooks/{provider}/{connection.callback_secret}/"
            )
        sandbox.control(push_urls=push_urls, push_drop_rate=0.3, fault_seed=seed)
        items = [
            item_create(
                account=account,
                actor=owner,
                data={
                    "part_number": part,
                    "color_id": 11,
                    "condition": "new",
                    "quantity_available": rng.randint(6, 20),
                    "price": "0.1000",
                },
            )
            for part in [
                "3001",
                "3003",
                "3004",
                "3005",
                "3010",
                "3020",
                "3022",
                "3023",
                "3024",
                "3069b",
                "3001",
                "3003",
            ][:ITEMS]
        ]
        wait_for(settled, timeout=120, message="the items on both stores")
        model = Model(available={item.pk: item.quantity_available for item in items})
        sandbox.control(
            faults=[
                {"provider": "bricklink", "path": "^/(orders|notifications)", **FAULTS},
                {"provider": "brickowl", "path": "^/order/", **FAULTS},
            ]
        )
        half = ORDERS // 2
        play(sandbox, rng, model, items, half)
        # A worker dies mid-ingestion; another takes its place.
        workers[0].kill()
        workers[0] = start_worker(concurrency=3, env=env)
        play(sandbox, rng, model, items, ORDERS - half)
        injected = sum(rule["injected"] for rule in sandbox.control()["faults"])
        sandbox.control(faults=[])  # what is still to fetch now drains
        started = time.monotonic()
        orders = Order.objects.filter(account=account)
        wait_for(
            lambda: (
                orders.count() == len(model.orders)
                and all(
                    orders.filter(
                        provider=o["provider"], external_id=str(o["id"]), state=o["state"]
                    ).exists()
                    for o in model.orders
                )
                and not OrderFeed.objects.filter(status="due").exists()
                and settled()
            ),
            timeout=300 if LONG else 180,
            interval=0.5,
            message="every order to be brought in and every sync to settle",
        )
        drained = time.monotonic() - started
    finally:
        beat.stop()
    for item in InventoryItem.objects.filter(account=account):
        assert (item.quantity_available, item.quantity_reserved, item.quantity_sold) == (
            model.available[item.pk],
            model.reserved[item.pk],
            model.sold[item.pk],
        ), item.pk
    # Exactly once: the history of every item's order moves adds up to the orders.
    moved = Counter()
    for row in InventoryHistory.objects.filter(account=account, change_type="order"):
        moved[row.item_id] += row.quantity_sold_delta + row.quantity_reserved_delta
    expected = Counter({pk: model.reserved[pk] + model.sold[pk] for pk in model.available})
    assert +moved == +expected
    flagged = [
        (o.provider, o.external_id, o.status, o.history, list(o.lines.values()))
        for o in orders.filter(needs_attention=True)
    ]
    assert flagged == []
    assert_stores_match_items(sandbox, account)
    assert duplicate_creates(sandbox.ledger()) == {"bricklink": 0, "brickowl": 0}
    assert injected > 0
    record(
        "orders_under_faults",
        {
            "seed": seed,
            "orders": len(model.orders),
            "faults_injected": injected,
            "seconds_to_drain": round(drained, 1),
        },
    )
