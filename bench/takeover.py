"""A seller with a big existing store starts: takeover, and a first upload in batches.

``takeover``: a BrickLink store of 20,000 lots and a BrickOwl store of 20,000 lots (15,000 of
them the same part, color and condition as a BrickLink lot), none carrying our marker, are
taken over one after the other through the API's path (``import_begin``, run by a real
worker). Measured: the time each takes, and the calls on the seller's keys and on the
platform's (BOID look-ups, 50 to a ``bulk/batch`` call).

``upload``: 10,000 new items (written as a file import writes them: in bulk, one sweep) reach two
empty stores through real workers, in batches (BrickLink's array POST and a listing per 500
lots, BrickOwl's ``bulk/batch`` of 50). Measured: the time until every item is synced on each
store, the calls per marketplace (the contract: at most 300 each), and that no lot was made
twice.

Both run at 50 ms sandbox latency with the **default** limits (BrickLink 1 call a second with
bursts of 4; BrickOwl batch calls 96 a minute, single calls 590), the sandbox's catalog
enlarged to 3,000 parts.

    .venv/bin/python bench/takeover.py [takeover|upload|all] [--lots 20000] [--items 10000]
"""

from __future__ import annotations

import argparse
import json
import time

from common import RESULTS, prepare_database, setup_bench_django, write_results
from inventory_sync import PLATFORM_BRICKOWL_KEY, bench_account
from stack import beat, sandbox, sandbox_env, workers

PARTS = 3000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", choices=["takeover", "upload", "all"], default="all")
    parser.add_argument("--lots", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    setup_bench_django()
    prepare_database()
    figures: dict[str, object] = {"sandbox_latency_ms": args.latency_ms, "limits": "default"}
    with sandbox(
        args=("--parts", str(PARTS)), latency={"fixed_ms": args.latency_ms, "random_ms": 0}
    ) as server:
        server.control(brickowl_keys=[server.BRICKOWL_KEY, PLATFORM_BRICKOWL_KEY])
        env = {
            **sandbox_env(server),
            "BRICKOWL_API_KEY": PLATFORM_BRICKOWL_KEY,
            "TEST_DEFAULT_RATE_LIMITS": "1",
        }
        with workers(concurrency=4, env=env), beat(env=env):
            if args.scenario in ("takeover", "all"):
                figures["takeover"] = takeover(server, lots=args.lots, latency_ms=args.latency_ms)
            if args.scenario in ("upload", "all"):
                figures["first_upload"] = upload(
                    server, items=args.items, latency_ms=args.latency_ms
                )
    # One scenario run alone keeps the other's last figures.
    kept = RESULTS / "takeover.json"
    if args.scenario != "all" and kept.exists():
        earlier = json.loads(kept.read_text())
        figures = {
            **{key: earlier[key] for key in ("takeover", "first_upload") if key in earlier},
            **figures,
        }
    print(write_results("takeover", figures))


def fresh_start(name: str):
    """A new bench account; the limits start full and nothing is known of BrickOwl yet, as
    for a seller's first day."""
    from django.core.cache import cache

    from accounts.models import Account
    from inventory.models import BrickOwlPart
    from ratelimit.models import Bucket

    # Only this run's account: an earlier benchmark's stores would be polled for orders
    # on the same sandbox keys meanwhile.
    Account.objects.all().delete()
    owner = bench_account(name)
    Bucket.objects.all().delete()
    BrickOwlPart.objects.all().delete()
    cache.delete("brickowl:color-map")
    return owner


def clean(server, latency_ms: int, **more) -> None:
    """Empty stores, the benchmark's sandbox settings again."""
    server.control(
        reset=True,
        latency={"fixed_ms": latency_ms, "random_ms": 0},
        brickowl_keys=[server.BRICKOWL_KEY, PLATFORM_BRICKOWL_KEY],
        bricklink_max_in_flight=64,
        bricklink_quota=10**9,
        **more,
    )


def seller_calls(server, before: dict) -> dict[str, int]:
    now = server.calls()["by_account"]
    return {
        key: now.get(key, 0) - before.get(key, 0)
        for key in now
        if now.get(key, 0) != before.get(key, 0)
    }


def takeover(server, *, lots: int, latency_ms: int) -> dict[str, object]:
    from accounts.models import Account
    from inventory.models import InventoryItem, MarketplaceConnection
    from takeover.models import StoreImport
    from takeover.services import import_begin

    owner = fresh_start("Takeover bench")
    account = Account.objects.get(pk=owner.account_id)
    MarketplaceConnection.objects.filter(account=account).update(enabled=False)
    bl_key = server.BRICKLINK_CREDENTIALS["consumer_key"]
    shared = lots * 3 // 4
    clean(
        server,
        latency_ms,
        prefill=[
            {"provider": "bricklink", "account": bl_key, "lots": lots, "seed": 11},
            {
                "provider": "brickowl",
                "account": server.BRICKOWL_KEY,
                "lots": lots,
                "seed": 12,
                "share_with": {"provider": "bricklink", "account": bl_key},
                "shared": shared,
            },
        ],
    )
    results: dict[str, object] = {"lots_per_store": lots, "shared_lots": shared}
    for provider in ("bricklink", "brickowl"):
        before = server.calls()["by_account"]
        started = time.monotonic()
        store_import = import_begin(account=account, provider=provider, dry_run=False, actor=None)
        while StoreImport.objects.filter(pk=store_import.pk, status="running").exists():
            if time.monotonic() - started > 1800:
                raise SystemExit(f"the {provider} takeover did not finish")
            time.sleep(0.2)
        seconds = time.monotonic() - started
        done = StoreImport.objects.get(pk=store_import.pk)
        results[provider] = {
            "status": done.status,
            "seconds": round(seconds, 1),
            "lots_seen": done.lots_seen,
            "items_linked": done.items_linked,
            "items_created": done.items_created,
            "unmapped": len(done.unmapped),
            "calls_by_key": seller_calls(server, before),
        }
        print(provider, results[provider])
    results["items_after"] = InventoryItem.objects.filter(account=account).count()
    return results


def upload(server, *, items: int, latency_ms: int) -> dict[str, object]:
    from accounts.models import Account, User
    from inventory.models import SyncState
    from inventory.scheduling import sync_batch
    from inventory.services import items_create_many
    from marketplaces.sandbox.catalog import build_catalog

    owner = fresh_start("First upload")
    account = Account.objects.get(pk=owner.account_id)
    user = User.objects.get(username=owner.username)
    clean(server, latency_ms)
    catalog = build_catalog(1, PARTS)
    combos = [(p.no, color) for p in catalog.parts() if p.boid for color, _ in p.colors]
    before = server.calls()
    started = time.monotonic()
    datas = []
    for index in range(items):
        part_number, color_id = combos[(index * 7919) % len(combos)]
        datas.append(
            {
                "part_number": part_number,
                "color_id": color_id,
                "condition": ("new", "used")[index % 2],
                "quantity_available": 1 + index % 9,
                "price": "0.1000",
                "location": f"S{index // 100}-{index % 100}",
            }
        )
    # As an inventory file's import writes them: in bulk, one sweep after commit.
    with sync_batch():
        items_create_many(account=account, actor=user, datas=datas, change_type="import")
    written = time.monotonic() - started
    states = SyncState.objects.filter(item__account=account)
    finished: dict[str, float] = {}
    while len(finished) < 2:
        for provider in ("bricklink", "brickowl"):
            if (
                provider not in finished
                and not states.filter(provider=provider, status__in=["pending", "syncing"]).exists()
            ):
                finished[provider] = time.monotonic() - started
        if time.monotonic() - started > 3600:
            raise SystemExit("the upload did not settle")
        time.sleep(0.2)
    after = server.calls()
    by_provider = {"bricklink": 0, "brickowl": 0}
    for endpoint, count in after["by_endpoint"].items():
        by_provider[endpoint.split("/")[1]] += count - before["by_endpoint"].get(endpoint, 0)
    platform = after["by_account"].get(PLATFORM_BRICKOWL_KEY, 0) - before["by_account"].get(
        PLATFORM_BRICKOWL_KEY, 0
    )
    bl_key = server.BRICKLINK_CREDENTIALS["consumer_key"]
    lots = {
        "bricklink": len(server.inventory("bricklink", bl_key)),
        "brickowl": len(server.inventory("brickowl", server.BRICKOWL_KEY)),
    }
    results = {
        "items": items,
        "seconds_to_write_the_items": round(written, 1),
        "failed": states.filter(status="failed").count(),
        "lots_on_each_store": lots,
        "calls_by_endpoint": {
            k: v - before["by_endpoint"].get(k, 0)
            for k, v in after["by_endpoint"].items()
            if v != before["by_endpoint"].get(k, 0)
        },
    }
    # The sandbox's BrickLink key is also the platform's: its catalog fetches (for the new
    # items' names) are not the seller's calls.
    catalog = sum(
        count - before["by_endpoint"].get(endpoint, 0)
        for endpoint, count in after["by_endpoint"].items()
        if endpoint.startswith(("GET /bricklink/items/", "GET /bricklink/colors"))
    )
    for provider in ("bricklink", "brickowl"):
        calls = by_provider[provider] - (platform if provider == "brickowl" else catalog)
        results[provider] = {
            "seconds_until_all_synced": round(finished[provider], 1),
            "calls_on_the_sellers_key": calls,
        }
    results["brickowl"]["platform_lookups"] = platform
    print("upload", results)
    return results


if __name__ == "__main__":
    main()
