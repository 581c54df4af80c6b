"""Leases: a live worker keeps its rows however long its calls take (its heartbeat renews
them); a dead worker's rows come back within a lease and a sweep, and nothing is done twice.

The kill scenario's short form uses 3 s leases and a sweep every second; ``make chaos`` runs
it with the defaults (30 s leases, a sweep every 15 s) and requires everything done within
90 s of the restart."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest

from catalog.domain import Resource
from catalog.models import JobStatus, Kind, Priority, RefreshJob
from catalog.services import refresh_enqueue_many
from core.services import periodic_schedules_sync
from inventory.models import SyncState
from inventory.services import item_create
from outbox.sweep import outbox_sweep
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import BeatProcess, wait_for
from tests.inventory.scenario import (
    COLORS,
    PARTS,
    assert_stores_match_items,
    connect,
    duplicate_creates,
)
from tests.longform import LONG

pytestmark = [pytest.mark.worker, pytest.mark.exact_sandbox("counts calls per resource")]


def _items(account, count: int) -> list:
    owner = MembershipFactory(account=account, role="owner").user
    return [
        item_create(
            account=account,
            actor=owner,
            data={
                "part_number": PARTS[n % len(PARTS)],
                "color_id": COLORS[n // len(PARTS) % len(COLORS)],
                "condition": "new",
                "quantity_available": 2 + n % 5,
                "price": "0.2000",
            },
        )
        for n in range(count)
    ]


def _refresh_calls(sandbox) -> Counter:
    return Counter(
        {
            key: n
            for key, n in sandbox.calls()["by_resource"].items()
            if key.startswith("GET /bricklink/items/")
        }
    )


def test_a_live_call_longer_than_its_lease_is_never_taken_from_its_worker(
    sole_workers, start_worker, sandbox, transactional_db
):
    """2 s leases, calls that take 6 s, a sweep every half second: the heartbeat keeps both
    rows, so nothing is reclaimed and nothing is called twice."""
    start_worker(
        concurrency=2, env={"INVENTORY_SYNC_LEASE_SECONDS": "2", "CATALOG_LEASE_SECONDS": "2"}
    )
    sandbox.control(
        faults=[
            {"provider": "bricklink", "path": "^/items", "latency_fixed_ms": 6000},
            {"provider": "bricklink", "path": "^/inventories", "latency_fixed_ms": 6000},
        ]
    )
    account = AccountFactory()
    connect(account)
    [item] = _items(account, 1)
    refresh_enqueue_many(resources=[Resource(Kind.PART, "3001")], priority=Priority.HIGH)
    sweeps: list[dict] = []
    state = SyncState.objects.filter(item=item, provider="bricklink")
    deadline = time.monotonic() + 60
    while not (
        state.filter(status="synced").exists()
        and RefreshJob.objects.filter(status=JobStatus.SUCCEEDED).exists()
    ):
        assert time.monotonic() < deadline, "the slow calls never finished"
        sweeps.append(outbox_sweep())
        time.sleep(0.5)
    assert len(sweeps) >= 8  # the sweep really ran while the calls were out
    assert all(reclaimed == 0 for done in sweeps for reclaimed, _ in done.values())
    job = RefreshJob.objects.get()
    assert (job.status, job.attempts, job.last_error) == ("succeeded", 0, None)
    assert _refresh_calls(sandbox) == {"GET /bricklink/items/PART/3001": 1}
    assert state.get().attempts == 0
    ledger = [entry["op"] for entry in sandbox.ledger() if entry["provider"] == "bricklink"]
    assert ledger == ["create"]


# The short form: 3 s leases, and messages the dead worker took sent again 3 s after they
# were due (the default 60 s would dominate a short test).
FAST_LEASES = {
    "INVENTORY_SYNC_LEASE_SECONDS": "3",
    "CATALOG_LEASE_SECONDS": "3",
    "INVENTORY_SLOT_LEASE_SECONDS": "3",
    "OUTBOX_REDISPATCH_SECONDS": "3",
}


def test_a_killed_worker_group_loses_nothing_and_its_work_is_done_once_after_a_restart(
    sole_workers, start_worker, sandbox, transactional_db, settings, record
):
    """SIGKILL of the whole worker group while syncs and refreshes are mid-call; a new worker
    starts. Beat (a real process) sweeps; every sync and refresh ends done, once."""
    env = {} if LONG else FAST_LEASES
    settings.OUTBOX_SWEEP_SECONDS = 15 if LONG else 1
    periodic_schedules_sync(reset=True)
    beat = BeatProcess().start()
    items_count, refreshes = (40, 20) if LONG else (8, 8)
    try:
        doomed = start_worker(concurrency=4, env=env)
        sandbox.control(latency={"fixed_ms": 500})
        account = AccountFactory()
        connect(account)
        _items(account, items_count)
        resources = [Resource(Kind.PART, part) for part in PARTS] + [
            Resource(Kind.PART_COLORS, part) for part in PARTS
        ]
        refresh_enqueue_many(resources=resources[:refreshes], priority=Priority.HIGH)
        wait_for(
            lambda: (
                SyncState.objects.filter(claim_token__isnull=False).exists()
                and RefreshJob.objects.filter(status=JobStatus.INFLIGHT).exists()
            ),
            timeout=30,
            message="syncs and refreshes in flight",
        )
        os.killpg(doomed.proc.pid, signal.SIGKILL)
        doomed.proc.wait(10)
        held = (
            SyncState.objects.filter(claim_token__isnull=False).count(),
            RefreshJob.objects.filter(status=JobStatus.INFLIGHT).count(),
        )
        start_worker(concurrency=4, env=env)
        restarted = time.monotonic()
        states = SyncState.objects.filter(item__account=account)
        try:
            wait_for(
                lambda: (
                    states.filter(status="synced").count() == 2 * items_count
                    and RefreshJob.objects.filter(status=JobStatus.SUCCEEDED).count() == refreshes
                ),
                timeout=90,
                interval=0.25,
                message="every sync and refresh to finish after the restart",
            )
        except AssertionError as exc:
            left = list(
                states.exclude(status="synced").values(
                    "item_id",
                    "provider",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "dispatched_at",
                    "claim_token",
                    "lease_expires_at",
                    "last_error",
                )
            ) + list(
                RefreshJob.objects.exclude(status=JobStatus.SUCCEEDED).values(
                    "id", "status", "attempts", "next_attempt_at", "dispatched_at", "last_error"
                )
            )
            raise AssertionError(f"{exc}: left {left}") from None
        seconds = time.monotonic() - restarted
    finally:
        beat.stop()
    record(
        "worker_group_killed",
        {
            "held_at_kill": {"syncs": held[0], "refreshes": held[1]},
            "seconds_after_restart": round(seconds, 1),
            "leases": "default (30 s, sweep 15 s)" if LONG else "3 s, sweep 1 s",
        },
    )
    assert held[0] >= 1, held
    assert held[1] >= 1, held
    assert_stores_match_items(sandbox, account)
    assert duplicate_creates(sandbox.ledger()) == {"bricklink": 0, "brickowl": 0}
    # A refresh is asked again only if the kill cut its call off.
    again = sum(n - 1 for n in _refresh_calls(sandbox).values() if n > 1)
    assert again <= held[1], _refresh_calls(sandbox)
