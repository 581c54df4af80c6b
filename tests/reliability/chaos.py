"""Fault scenarios shared by the suite (short forms) and ``make chaos`` (long forms, figures in
bench/results/reliability.json). Each runs real worker processes against the sandbox and
PostgreSQL, breaks something, lets the system settle, and answers what it saw; the callers
assert on it."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog.domain import Resource
from catalog.models import JobStatus, Kind, Priority, RefreshJob
from catalog.services import refresh_drain, refresh_enqueue_many
from inventory.models import InventoryItem, SyncState
from inventory.work import sync_sweep
from tests.factories import AccountFactory, MembershipFactory
from tests.inventory.scenario import connect, duplicate_creates, random_changes
from tests.policies import set_policy

# Short leases and retries, so a killed worker's rows come back in seconds, not minutes.
FAST_RECOVERY = {
    "CATALOG_LEASE_SECONDS": "4",
    "CATALOG_RETRY_BASE_SECONDS": "0.2",
    "CATALOG_RETRY_CAP_SECONDS": "2",
    "CATALOG_RETRY_JITTER_SECONDS": "0.2",
    "CATALOG_MAX_ATTEMPTS": "8",
    "CATALOG_BREAKER_THRESHOLD": "1000",
    "INVENTORY_SYNC_LEASE_SECONDS": "4",
    "INVENTORY_SLOT_LEASE_SECONDS": "4",
    "INVENTORY_SYNC_RETRY_BASE_SECONDS": "0.2",
    "INVENTORY_SYNC_RETRY_CAP_SECONDS": "2",
    "INVENTORY_SYNC_RETRY_JITTER_SECONDS": "0.2",
    "INVENTORY_SYNC_MAX_ATTEMPTS": "40",
    "MARKETPLACE_READ_TIMEOUT": "2",
    "MARKETPLACE_DEADLINE": "4",
    "OUTBOX_REDISPATCH_SECONDS": "5",
}


def apply_fast_recovery(settings) -> None:
    """The same values for this (the drain's and the sweeper's) process."""
    for prefix, kind in (("CATALOG", "refresh"), ("INVENTORY_SYNC", "inventory_sync")):
        set_policy(
            settings,
            kind,
            **{
                field: (int if field == "max_attempts" else float)(
                    FAST_RECOVERY[f"{prefix}_{name}"]
                )
                for field, name in (
                    ("lease_seconds", "LEASE_SECONDS"),
                    ("retry_base_seconds", "RETRY_BASE_SECONDS"),
                    ("retry_cap_seconds", "RETRY_CAP_SECONDS"),
                    ("retry_jitter_seconds", "RETRY_JITTER_SECONDS"),
                    ("max_attempts", "MAX_ATTEMPTS"),
                )
            },
        )
    settings.CATALOG_BREAKER_THRESHOLD = int(FAST_RECOVERY["CATALOG_BREAKER_THRESHOLD"])
    settings.INVENTORY_SLOT_LEASE_SECONDS = int(FAST_RECOVERY["INVENTORY_SLOT_LEASE_SECONDS"])
    settings.MARKETPLACE_READ_TIMEOUT = 2.0
    settings.MARKETPLACE_DEADLINE = 4.0
    settings.OUTBOX_REDISPATCH_SECONDS = 5


def resources(catalog, count: int) -> list[Resource]:
    """``count`` distinct refreshes the sandbox can answer: part, colors, first price guide."""
    found: list[Resource] = []
    for item in catalog.parts():
        found += [Resource(Kind.PART, item.no), Resource(Kind.PART_COLORS, item.no)]
        if item.colors:
            found.append(Resource(Kind.PRICE_GUIDE, item.no, item.colors[0][0]))
        if len(found) >= count:
            return found[:count]
    raise ValueError(f"the sandbox's catalog has fewer than {count} refreshes")


def outbox_settled() -> bool:
    active = [JobStatus.PENDING, JobStatus.INFLIGHT]
    return not RefreshJob.objects.filter(status__in=active).exists()


def syncs_settled(account) -> bool:
    return not SyncState.objects.filter(
        item__account=account, status__in=["pending", "syncing"]
    ).exists()


def settle(predicate: Callable[[], bool], *, timeout: float, beat: float = 1.0) -> float:
    """Play beat (drain and sweep every ``beat`` seconds) until ``predicate()``; answers the
    seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            left = Counter(
                RefreshJob.objects.exclude(status__in=["succeeded", "failed"]).values_list(
                    "status", "attempts", "deferrals"
                )
            )
            syncs = Counter(SyncState.objects.values_list("status", flat=True))
            raise AssertionError(f"not settled after {timeout:.0f} s: {left} {syncs}")
        refresh_drain()
        sync_sweep()
        time.sleep(beat)
    return time.monotonic() - started


@dataclass
class KillReport:
    seed: int
    refreshes: int
    changes: int
    kills: list[str] = field(default_factory=list)
    settle_seconds: float = 0.0
    outbox: dict[str, int] = field(default_factory=dict)
    failed_without_reason: int = 0
    items: int = 0
    items_not_synced: int = 0
    sync_statuses: dict[str, int] = field(default_factory=dict)
    sync_errors: dict[str, int] = field(default_factory=dict)
    duplicate_refresh_calls: int = 0
    duplicate_creates: dict[str, int] = field(default_factory=dict)
    refresh_calls: int = 0
    marketplace_calls: int = 0


def worker_kills(
    *,
    sandbox,
    start_worker,
    catalog,
    seed: int,
    refreshes: int,
    changes: int,
    duration: float,
    workers: int = 3,
    settle_timeout: float = 240,
) -> KillReport:
    """``workers`` workers; ``refreshes`` refreshes and ``changes`` inventory changes in
    flight; every 2-5 s a random worker or one of its pool children is SIGKILLed (a whole
    worker is restarted) for ``duration`` seconds. Then beat plays until all is settled."""
    rng = random.Random(seed)
    report = KillReport(seed, refreshes, changes)
    pool = [
        start_worker(concurrency=3, env=FAST_RECOVERY, name=f"chaos{n}-{seed}@localhost")
        for n in range(workers)
    ]
    account = AccountFactory()
    connect(account)
    actor = MembershipFactory(account=account, role="owner").user
    refresh_enqueue_many(resources=resources(catalog, refreshes), priority=Priority.NORMAL)

    next_kill = time.monotonic() + rng.uniform(2, 5)
    end = time.monotonic() + duration
    made = 0
    # At least two kills however slow the machine (a worker's restart takes seconds of the
    # window when the cores are busy).
    while time.monotonic() < end or made < changes or len(report.kills) < 2:
        if made < changes:
            step = min(10, changes - made)
            random_changes(rng, account, actor, count=step, max_items=max(10, changes // 10))
            made += step
        if time.monotonic() >= next_kill and (time.monotonic() < end or len(report.kills) < 2):
            index = rng.randrange(len(pool))
            victim = pool[index]
            children = victim.pool_pids()
            if children and rng.random() < 0.5:
                os.kill(rng.choice(children), signal.SIGKILL)  # the pool replaces it
                report.kills.append(f"pool child of worker {index}")
            else:
                victim.kill()
                pool[index] = start_worker(concurrency=3, env=FAST_RECOVERY)
                report.kills.append(f"worker {index}")
            next_kill = time.monotonic() + rng.uniform(2, 5)
        time.sleep(0.2)

    report.settle_seconds = round(
        settle(lambda: outbox_settled() and syncs_settled(account), timeout=settle_timeout), 1
    )
    report.outbox = dict(Counter(RefreshJob.objects.values_list("status", flat=True)))
    report.failed_without_reason = RefreshJob.objects.filter(
        status=JobStatus.FAILED, last_error__isnull=True
    ).count()
    items = InventoryItem.objects.filter(account=account)
    report.items = items.count()
    states = SyncState.objects.filter(item__account=account)
    report.sync_statuses = dict(Counter(states.values_list("status", flat=True)))
    report.items_not_synced = states.exclude(status="synced").count()
    report.sync_errors = dict(
        Counter(
            f"{provider}: {(error or {}).get('code')}: {str((error or {}).get('message'))[:80]}"
            for provider, error in states.exclude(status="synced").values_list(
                "provider", "last_error"
            )
        )
    )
    calls = sandbox.calls()
    report.marketplace_calls = calls["total"]
    per_resource = [
        n for key, n in calls["by_resource"].items() if key.startswith("GET /bricklink/items/")
    ]
    report.refresh_calls = sum(per_resource)
    report.duplicate_refresh_calls = sum(n - 1 for n in per_resource if n > 1)
    report.duplicate_creates = duplicate_creates(sandbox.ledger())
    return report
