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

    .venv/bin/python bench/inventory_sync.py [--changes 1000]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from common import percentile, prepare_database, setup_bench_django, write_results
from stack import gunicorn, sandbox, sandbox_env, workers

API_ENV = {"API_THROTTLE_USER": "1000000/s"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    setup_bench_django()
    prepare_database()

    from accounts.models import Account
    from accounts.services import account_create
    from core import clock
    from inventory.models import InventoryItem, MarketplaceConnection, SyncState
    from tests.harness import SandboxProcess

    Account.objects.filter(name="Inventory bench").delete()
    from accounts.models import User

    User.objects.filter(username="inventory-bench").delete()
    owner = account_create(
        name="Inventory bench", owner_username="inventory-bench", password="bench-password-1"
    )
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

    changes: list[tuple[int, int, float]] = []  # item id, version, answered at
    lock = threading.Lock()
    with sandbox(latency={"fixed_ms": args.latency_ms, "random_ms": 0}) as server:
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
                ids = list(pool.map(create, range(args.items)))
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
                for n in range(lane, args.changes - args.items, 8):
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
        "items": args.items,
        "sandbox_latency_ms": args.latency_ms,
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
        f"{total_changes} changes ({args.items} creates, the rest updates) through the API, "
        f"sandbox latency {args.latency_ms} ms, 8 workers: all synced on both stores after "
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
