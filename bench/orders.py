"""Orders placed on both marketplaces reach the other store: how soon, at what cost.

An account sells 100 items on both sandbox stores (latency 50 ms). Buyers place 500 orders,
alternating BrickLink and BrickOwl, one every ``--spacing`` seconds, each for 1-3 bricks of a
random item that its store still lists. The sandbox pushes each order to the API (gunicorn) as
the real services do -- BrickLink's callback, BrickOwl's notification -- and real workers and
beat (default per-account limits, ORDERS_POLL_SECONDS as configured) do the rest. Measured:

* order to the other store's lot being right (its quantity no higher than the item's stock
  less every order placed so far), sampled every 50 ms: p50, p95, max;
* marketplace calls per order while the orders ran (the feed's and the syncs');
* oversold lines, and those a faster reaction could have prevented (the second sale came
  later than the p95 reaction time after the first).

    .venv/bin/python bench/orders.py [--orders 500] [--spacing 2]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter, defaultdict

from common import percentile, prepare_database, setup_bench_django, write_results
from stack import beat, gunicorn, sandbox, sandbox_env, workers

PARTS = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023", "3024", "3069b"]
COLORS = [1, 5, 11, 86, 2, 3, 4, 7, 9, 10]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--spacing", type=float, default=2.0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup_bench_django()
    prepare_database()
    run(args)


def run(args) -> None:
    from django.db import transaction

    from accounts.models import Account, User
    from accounts.services import account_create
    from core import clock
    from inventory.models import InventoryItem, MarketplaceConnection, SyncState
    from inventory.services import item_create
    from orders.models import Order, OrderLine
    from ratelimit.models import Bucket
    from tests.harness import SandboxProcess

    rng = random.Random(args.seed)
    Account.objects.filter(name="Orders bench").delete()
    User.objects.filter(username="orders-bench").delete()
    Bucket.objects.all().delete()
    owner = account_create(
        name="Orders bench", owner_username="orders-bench", password="Kh7-quiet-lantern-42"
    )
    account = Account.objects.get(pk=owner.account_id)
    user = User.objects.get(username="orders-bench")
    keys = {"bricklink": SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]}
    keys["brickowl"] = SandboxProcess.BRICKOWL_KEY
    secrets = {}
    for provider, credentials in (
        ("bricklink", SandboxProcess.BRICKLINK_CREDENTIALS),
        ("brickowl", {"api_key": SandboxProcess.BRICKOWL_KEY}),
    ):
        secrets[provider] = f"orders-bench-{provider}-push-secret-0123456789"
        MarketplaceConnection.objects.create(
            account=account,
            provider=provider,
            enabled=True,
            credentials=credentials,
            callback_secret=secrets[provider],
            orders_since=clock.now(),
            updated_at=clock.now(),
        )
    states = SyncState.objects.filter(item__account=account)

    def settled() -> bool:
        return not states.filter(status__in=["pending", "syncing"]).exists()

    with sandbox(latency={"fixed_ms": args.latency_ms, "random_ms": 0}) as server:
        env = {**sandbox_env(server), "TEST_DEFAULT_RATE_LIMITS": "1"}
        platform = "orders-bench-platform-key"
        server.control(brickowl_keys=[keys["brickowl"], platform])
        env["BRICKOWL_API_KEY"] = platform
        with (
            workers(concurrency=4, env=env),
            beat(env=env),
            gunicorn(workers=2, env=env, settings_module="config.settings.test") as url,
        ):
            server.control(
                push_urls={
                    keys[p]: f"{url}/api/v1/hooks/{p}/{secrets[p]}/"
                    for p in ("bricklink", "brickowl")
                }
            )
            with transaction.atomic():
                items = [
                    item_create(
                        account=account,
                        actor=user,
                        data={
                            "part_number": PARTS[n % len(PARTS)],
                            "color_id": COLORS[n // len(PARTS) % len(COLORS)],
                            "condition": "new",
                            "quantity_available": rng.randint(8, 20),
                            "price": "0.1000",
                        },
                    )
                    for n in range(args.items)
                ]
            print(f"listing {len(items)} items on both stores (default limits)...")
            deadline = time.monotonic() + 900
            while not settled():
                if time.monotonic() > deadline:
                    raise SystemExit("the items did not reach the stores")
                time.sleep(0.5)
            start_quantity = {item.pk: item.quantity_available for item in items}
            calls_before = server.calls()
            samples: list[tuple[float, dict, dict]] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    bricklink = {
                        _marker(lot["remarks"]): lot["quantity"]
                        for lot in server.inventory("bricklink", keys["bricklink"])
                    }
                    brickowl = {
                        _external(lot["external_lot_ids"]): int(lot["qty"])
                        for lot in server.inventory("brickowl", keys["brickowl"])
                    }
                    samples.append((time.time(), bricklink, brickowl))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            placed: list[dict] = []
            started = time.time()
            for n in range(args.orders):
                provider = "bricklink" if n % 2 == 0 else "brickowl"
                listed = samples[-1][1 if provider == "bricklink" else 2] if samples else {}
                candidates = [pk for pk, qty in listed.items() if pk and qty > 0]
                if not candidates:
                    time.sleep(args.spacing)
                    continue
                item_id = rng.choice(candidates)
                quantity = min(rng.randint(1, 3), listed[item_id])
                lot_id = _lot_id(server, provider, keys[provider], item_id)
                if lot_id is None:
                    continue
                try:
                    answer = server.order_change(
                        op="place",
                        provider=provider,
                        account=keys[provider],
                        buyer=f"buyer{n}",
                        lines=[{"lot_id": lot_id, "quantity": quantity}],
                    )
                except AssertionError:  # the lot changed under us: a buyer would retry
                    continue
                placed.append(
                    {
                        "provider": provider,
                        "item": item_id,
                        "quantity": quantity,
                        "at": time.time(),
                        "id": str(answer["order_id"]),
                    }
                )
                time.sleep(args.spacing)
            deadline = time.monotonic() + 600
            orders = Order.objects.filter(account=account)
            while orders.count() < len(placed) or not settled():
                if time.monotonic() > deadline:
                    raise SystemExit("the orders did not settle")
                time.sleep(0.5)
            time.sleep(1)
            stop.set()
            sampler.join()
            finished = time.time()
            calls_after = server.calls()
    reactions = _reactions(placed, samples, start_quantity)
    order_calls = calls_after["total"] - calls_before["total"]
    by_endpoint = Counter(calls_after["by_endpoint"]) - Counter(calls_before["by_endpoint"])
    p95 = percentile(reactions, 95)
    oversold = list(OrderLine.objects.filter(order__account=account, oversold_quantity__gt=0))
    preventable = _preventable(oversold, placed, p95)
    figures = {
        "orders": len(placed),
        "items": len(items),
        "spacing_seconds": args.spacing,
        "sandbox_latency_ms": args.latency_ms,
        "pushes": "BrickLink callback and BrickOwl notification to the API (gunicorn)",
        "reaction_ms_p50": round(percentile(reactions, 50) * 1000),
        "reaction_ms_p95": round(p95 * 1000),
        "reaction_ms_max": round(max(reactions) * 1000) if reactions else None,
        "reactions_measured": len(reactions),
        "marketplace_calls": order_calls,
        "calls_per_order": round(order_calls / max(1, len(placed)), 2),
        "calls_by_endpoint": dict(by_endpoint),
        "oversold_lines": len(oversold),
        "oversold_lines_a_faster_reaction_could_have_prevented": preventable,
        "seconds": round(finished - started, 1),
        "items_wrong_at_the_end": sum(
            1
            for item in InventoryItem.objects.filter(account=account)
            if item.quantity_available + item.quantity_reserved + item.quantity_sold
            != start_quantity[item.pk]
        ),
    }
    print(
        f"{len(placed)} orders ({args.spacing} s apart, both stores, latency {args.latency_ms} ms):"
        f" the other store right after p50 {figures['reaction_ms_p50']} ms, p95 "
        f"{figures['reaction_ms_p95']} ms, max {figures['reaction_ms_max']} ms; "
        f"{figures['calls_per_order']} marketplace calls per order; "
        f"{len(oversold)} oversold line(s), {preventable} a faster reaction could have prevented"
    )
    write_results("orders", figures)


def _marker(remarks: str) -> int | None:
    from inventory.lots.bricklink import marked_item_id

    return marked_item_id(remarks)


def _external(external_ids) -> int | None:
    from inventory.lots.brickowl import external_item_id

    return external_item_id(external_ids.get("other") if isinstance(external_ids, dict) else None)


def _lot_id(server, provider: str, key: str, item_id: int):
    for lot in server.inventory(provider, key):
        if provider == "bricklink" and _marker(lot["remarks"]) == item_id:
            return lot["inventory_id"]
        if provider == "brickowl" and _external(lot["external_lot_ids"]) == item_id:
            return lot["lot_id"]
    return None


def _reactions(placed, samples, start_quantity) -> list[float]:
    """For each order, the first sample at which the other store's lot holds no more than the
    item's stock less every order placed so far on either store."""
    reactions = []
    for index, order in enumerate(placed):
        item = order["item"]
        before = sum(o["quantity"] for o in placed[: index + 1] if o["item"] == item)
        expected = start_quantity[item] - before
        other = 2 if order["provider"] == "bricklink" else 1
        for at, *stores in samples:
            if at < order["at"]:
                continue
            # Orders placed later on the other store lower it too: allow for them.
            later = sum(
                o["quantity"]
                for o in placed[index + 1 :]
                if o["item"] == item and o["at"] <= at and o["provider"] != order["provider"]
            )
            if stores[other - 1].get(item, 0) <= max(0, expected - later):
                reactions.append(at - order["at"])
                break
    return reactions


def _preventable(oversold, placed, p95: float) -> int:
    """Oversold lines whose conflicting sale on the other store came more than the p95
    reaction time earlier: a system reacting at its p95 would have prevented them."""
    by_item = defaultdict(list)
    for order in placed:
        by_item[order["item"]].append(order)
    count = 0
    for line in oversold:
        mine = next((o for o in placed if o["id"] == line.order.external_id), None)
        if mine is None:
            continue
        earlier = [
            o
            for o in by_item[mine["item"]]
            if o["provider"] != mine["provider"] and o["at"] < mine["at"]
        ]
        if earlier and mine["at"] - max(o["at"] for o in earlier) > p95:
            count += 1
    return count


if __name__ == "__main__":
    main()
