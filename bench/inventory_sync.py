"""1,000 inventory changes through the API, synced to both sandbox stores by real workers.

100 creates, then 900 quantity/price updates spread over those items, sent by 8 concurrent
clients through gunicorn; Celery workers (concurrency 8) sync them to BrickLink and BrickOwl
answering after 50 ms. Measured:

* the time from the first change until every item is synced on both stores;
* marketplace calls per change and per provider (the ideal is 1: state-based sync may do
  better, as several changes to one item that meet one sync cost one call);
* change-to-synced latency: from the API's answer to the moment a sync covering that change's
  version finished (sampled every 20 ms), p50 and p95.

The accounts' pace limits are lifted (test settings): this measures the system, not quotas.

``burst``: 1,000 new items for one account at once (one transaction), sandbox latency 50 ms,
the **default** per-account limits (BrickLink 1 call a second with bursts of 4, BrickOwl 590
a minute with bursts of 10). Measured against the limit-bound ideal -- the calls each
marketplace needs over its rate -- with the calls each item cost.

    .venv/bin/python bench/inventory_sync.py [--changes 1000]
    .venv/bin/python bench/inventory_sync.py burst [--items 1000]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from common import percentile, prepare_database, setup_bench_django, write_results
from stack import beat, gunicorn, sandbox, sandbox_env, workers

API_ENV = {"API_THROTTLE_USER": "1000000/s"}
PLATFORM_BRICKOWL_KEY = "bench-platform-brickowl-key"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", choices=["changes", "burst"], default="changes")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    setup_bench_django()
    prepare_database()
    if args.scenario == "burst":
        burst(items=args.items or 1000, latency_ms=args.latency_ms)
    else:
        changes_through_the_api(
            count=args.changes, items=args.items or 100, latency_ms=args.latency_ms
        )


def bench_account(name: str):
    """A fresh account of that name connected to both sandbox stores; answers its owner."""
    from accounts.models import Account, User
    from accounts.services import account_create
    from core import clock
    from inventory.models import MarketplaceConnection
    from tests.harness import SandboxProcess

    username = name.lower().replace(" ", "-")
    Account.objects.filter(name=name).delete()
    User.objects.filter(username=username).delete()
    owner = account_create(name=name, owner_username=username, password="bench-password-1")
    for provider, credentials in (
        ("bricklink", SandboxProcess.BRICKLINK_CREDENTIALS),
        ("brickowl", {"api_key": SandboxProcess.BRICKOWL_KEY}),
    ):
        MarketplaceConnection.objects.create(
            account_id=owner.account_id,
            provider=provider,
            enabled=True,
            credentials=credentials,
            updated_at=clock.now(),
        )
    return owner


def burst(*, items: int, latency_ms: int) -> None:
    from django.db import transaction

    from accounts.models import Account, User
    from inventory.models import BrickOwlPart, SyncState
    from inventory.services import item_create
    from ratelimit.models import Bucket

    owner = bench_account("Burst bench")
    account_id = owner.account_id
    user = User.objects.get(username="burst-bench")
    account = Account.objects.get(pk=account_id)
    Bucket.objects.all().delete()  # the limits start full, as for a seller's first upload
    BrickOwlPart.objects.all().delete()
    parts = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023", "3024", "3069b"]
    colors = [1, 5, 11, 86]
    with sandbox(latency={"fixed_ms": latency_ms, "random_ms": 0}) as server:
        # The platform's BrickOwl key (BOID and color look-ups) is not the seller's, as in
        # production: each has its own 600 calls a minute.
        server.control(brickowl_keys=[server.BRICKOWL_KEY, PLATFORM_BRICKOWL_KEY])
        env = {
            **sandbox_env(server),
            "BRICKOWL_API_KEY": PLATFORM_BRICKOWL_KEY,
            "TEST_DEFAULT_RATE_LIMITS": "1",
            # One sync per item (the pacing of the limits): batched uploads are bench/takeover.py.
            "INVENTORY_UPLOAD_MIN": "1000000",
        }
        # Beat's sweep sends the syncs whose turn is further away than a delayed message.
        with workers(concurrency=8, env=env), beat(env=env):
            from django.core.cache import cache

            cache.delete("brickowl:color-map")
            started = time.time()
            with transaction.atomic():
                for n in range(items):
                    item_create(
                        account=account,
                        actor=user,
                        data={
                            "part_number": parts[n // len(colors) % len(parts)],
                            "color_id": colors[n % len(colors)],
                            "condition": "new",
                            "quantity_available": 1 + n % 9,
                            "price": "0.1000",
                        },
                    )
            states = SyncState.objects.filter(item__account_id=account_id)
            finished: dict[str, float] = {}
            deadline = time.monotonic() + 3 * items + 600
            while len(finished) < 2:
                for provider in ("bricklink", "brickowl"):
                    if (
                        provider not in finished
                        and not states.filter(
                            provider=provider, status__in=["pending", "syncing"]
                        ).exists()
                    ):
                        finished[provider] = time.time() - started
                if time.monotonic() > deadline:
                    raise SystemExit("the burst did not settle")
                time.sleep(0.2)
            calls = server.calls()
    by_provider = {"bricklink": 0, "brickowl": 0}
    for endpoint, count in calls["by_endpoint"].items():
        by_provider[endpoint.split("/")[1]] += count
    # The seller's own BrickOwl calls; the platform's look-ups are counted apart.
    platform_calls = calls["by_account"].get(PLATFORM_BRICKOWL_KEY, 0)
    by_provider["brickowl"] -= platform_calls
    from config.settings.marketplaces import RATE_LIMITS  # the defaults, not the test's

    def bucket(limit: str) -> dict:
        return next(r for r in RATE_LIMITS[limit]["rules"] if r["kind"] == "token_bucket")

    sync_limits = {"bricklink": "bricklink:account", "brickowl": "brickowl:account"}
    rates = {p: bucket(limit)["rate"] / bucket(limit)["period"] for p, limit in sync_limits.items()}
    bursts = {p: bucket(limit)["capacity"] for p, limit in sync_limits.items()}
    figures: dict[str, object] = {
        "scenario": "burst",
        "items": items,
        "sandbox_latency_ms": latency_ms,
        "worker_concurrency": 8,
        "limits": {p: f"{rates[p]:g}/s, bursts of {bursts[p]:g} (the sync's share)" for p in rates},
        "failed": states.filter(status="failed").count(),
        "brickowl_platform_lookups": platform_calls,
        "calls_by_endpoint": calls["by_endpoint"],
    }
    for provider in ("bricklink", "brickowl"):
        ideal = max(0.0, by_provider[provider] - bursts[provider]) / rates[provider]
        figures[provider] = {
            "calls": by_provider[provider],
            "calls_per_item": round(by_provider[provider] / items, 3),
            "seconds_until_all_synced": round(finished[provider], 1),
            "limit_bound_ideal_seconds": round(ideal, 1),
            "ratio_to_ideal": round(finished[provider] / ideal, 3) if ideal else None,
        }
    print(
        f"{items} new items at once, default limits, sandbox latency {latency_ms} ms: "
        + "; ".join(
            f"{p}: {figures[p]['calls']} calls ({figures[p]['calls_per_item']} per item), all "
            f"synced after {figures[p]['seconds_until_all_synced']} s against an ideal of "
            f"{figures[p]['limit_bound_ideal_seconds']} s ({figures[p]['ratio_to_ideal']}x)"
            for p in ("bricklink", "brickowl")
        )
        + f"; {figures['failed']} failed"
    )
    write_results("inventory_sync_burst", figures)


def changes_through_the_api(*, count: int, items: int, latency_ms: int) -> None:

    from inventory.models import InventoryItem, SyncState

    owner = bench_account("Inventory bench")

    changes: list[tuple[int, int, float]] = []  # item id, version, answered at
    lock = threading.Lock()
    with sandbox(latency={"fixed_ms": latency_ms, "random_ms": 0}) as server:
        env = {**sandbox_env(server), **API_ENV}
        with (
            workers(concurrency=8, env=env),
            gunicorn(workers=4, env=env, settings_module="bench.settings") as url,
        ):
            session = requests.Session()
            session.headers["Authorization"] = f"Token {owner.token}"
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))
            items_url = f"{url}/api/v1/inventory/items/"
            parts = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023"]
            samples: dict[tuple[int, str], list[tuple[int, float]]] = {}
            stop = threading.Event()

            def sample() -> None:
                from django.db import connection

                while not stop.is_set():
                    now = time.time()
                    rows = SyncState.objects.filter(item__account_id=owner.account_id).values_list(
                        "item_id", "provider", "synced_version"
                    )
                    for item_id, provider, version in rows:
                        seen = samples.setdefault((item_id, provider), [])
                        if not seen or seen[-1][0] != version:
                            seen.append((version, now))
                    time.sleep(0.02)
                connection.close()

            def create(n: int) -> int:
                body = {
                    "part_number": parts[n % len(parts)],
                    "color_id": [1, 5, 11][n % 3],
                    "condition": "new",
                    "quantity_available": 10,
                    "price": "0.1000",
                }
                response = session.post(items_url, json=body, timeout=30)
                response.raise_for_status()
                data = response.json()
                with lock:
                    changes.append((data["id"], 1, time.time()))
                return data["id"]

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.time()
            with ThreadPoolExecutor(8) as pool:
                ids = list(pool.map(create, range(items)))
            versions = dict.fromkeys(ids, 1)

            def update(n: int) -> None:
                item_id = ids[n % len(ids)]
                body = {"quantity_available": 5 + n % 17, "price": f"0.{1000 + n % 900:04d}"}
                response = session.patch(f"{items_url}{item_id}/", json=body, timeout=30)
                response.raise_for_status()
                answered = time.time()
                version = InventoryItem.objects.values_list("version", flat=True).get(pk=item_id)
                with lock:
                    changes.append((item_id, version, answered))

            # Updates of one item are sent by one client, in order (as one seller edits one lot).
            def update_lane(lane: int) -> None:
                for n in range(lane, count - items, 8):
                    update(n)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(update_lane, range(8)))
            api_seconds = time.time() - started
            for item_id in ids:
                versions[item_id] = InventoryItem.objects.get(pk=item_id).version
            deadline = time.monotonic() + 900
            while SyncState.objects.filter(
                item__account_id=owner.account_id, status__in=["pending", "syncing"]
            ).exists():
                if time.monotonic() > deadline:
                    raise SystemExit("the syncs did not settle in 15 minutes")
                time.sleep(0.05)
            finished = time.time()
            stop.set()
            sampler.join()
            calls = server.calls()
    failed = SyncState.objects.filter(item__account_id=owner.account_id, status="failed").count()
    latencies = []
    for item_id, version, answered in changes:
        for provider in ("bricklink", "brickowl"):
            seen = samples.get((item_id, provider), [])
            done = next((at for v, at in seen if v >= version), None)
            if done is not None:
                latencies.append((done - answered) * 1000)
    by_provider = {"bricklink": 0, "brickowl": 0}
    for endpoint, count in calls["by_endpoint"].items():
        provider = endpoint.split("/")[1]
        by_provider[provider] = by_provider.get(provider, 0) + count
    total_changes = len(changes)
    figures = {
        "changes": total_changes,
        "items": items,
        "sandbox_latency_ms": latency_ms,
        "worker_concurrency": 8,
        "seconds_until_all_synced": round(finished - started, 2),
        "seconds_to_send_all_changes": round(api_seconds, 2),
        "marketplace_calls": calls["total"],
        "calls_per_change_per_provider": {
            provider: round(count / total_changes, 3) for provider, count in by_provider.items()
        },
        "change_to_synced_ms_p50": round(percentile(latencies, 50), 1),
        "change_to_synced_ms_p95": round(percentile(latencies, 95), 1),
        "syncs_failed": failed,
    }
    print(
        f"{total_changes} changes ({items} creates, the rest updates) through the API, "
        f"sandbox latency {latency_ms} ms, 8 workers: all synced on both stores after "
        f"{figures['seconds_until_all_synced']} s (the API took {api_seconds:.1f} s to accept "
        "them all); calls per change: "
        f"BrickLink {figures['calls_per_change_per_provider']['bricklink']}, BrickOwl "
        f"{figures['calls_per_change_per_provider']['brickowl']} (ideal 1); change to synced "
        f"p50 {figures['change_to_synced_ms_p50']} ms, p95 {figures['change_to_synced_ms_p95']} ms;"
        f" {failed} failed"
    )
    write_results("inventory_sync", figures)


if __name__ == "__main__":
    main()
