"""Workers SIGKILLed at random while refreshes and inventory syncs are in flight lose nothing
and double nothing. The suite runs a short form; ``make chaos`` the long one (2,000 refreshes,
500 changes, a minute of kills, three seeds)."""

from dataclasses import asdict

import pytest

from inventory.models import InventoryItem
from marketplaces.sandbox.catalog import build_catalog
from tests.conftest import sandbox_env
from tests.harness import SandboxProcess, WorkerProcess
from tests.inventory.scenario import assert_stores_match_items
from tests.longform import LONG
from tests.reliability.chaos import apply_fast_recovery, worker_kills

pytestmark = pytest.mark.worker

if LONG:
    SEEDS, REFRESHES, CHANGES, DURATION, PARTS = [1, 2, 3], 2000, 500, 60, 800
else:
    SEEDS, REFRESHES, CHANGES, DURATION, PARTS = [7], 80, 30, 6, None


@pytest.fixture
def chaos_sandbox(sandbox, settings):
    """The session's sandbox, or for the long form one whose catalog has enough parts."""
    server = sandbox
    if PARTS:
        server = SandboxProcess(args=("--parts", str(PARTS))).start()
    server.control(bricklink_max_in_flight=64, bricklink_quota=10**9)
    for name, value in sandbox_env(server).items():
        setattr(settings, name, value)
    yield server, build_catalog(1, PARTS) if PARTS else build_catalog(1)
    if PARTS:
        server.stop()


@pytest.mark.parametrize("seed", SEEDS)
def test_random_worker_kills_lose_nothing_and_double_no_stock(
    seed, sole_workers, chaos_sandbox, transactional_db, settings, record
):
    server, catalog = chaos_sandbox
    apply_fast_recovery(settings)
    started: list[WorkerProcess] = []

    def start_worker(**kwargs) -> WorkerProcess:
        env = {**sandbox_env(server), **kwargs.pop("env", {})}
        worker = WorkerProcess(env=env, **kwargs).start()
        started.append(worker)
        return worker

    try:
        report = worker_kills(
            sandbox=server,
            start_worker=start_worker,
            catalog=catalog,
            seed=seed,
            refreshes=REFRESHES,
            changes=CHANGES,
            duration=DURATION,
            settle_timeout=600 if LONG else 240,
        )
    finally:
        for worker in started:
            worker.kill()
    record("worker_kills", {**asdict(report), "kills": len(report.kills)})
    assert len(report.kills) >= 2, report
    # Every outbox row ended, and a failed one says why; none is left in flight. BrickLink
    # itself never failed here, so none may fail: a kill costs at most an attempt.
    assert set(report.outbox) <= {"succeeded", "failed"}, report
    assert sum(report.outbox.values()) == REFRESHES
    assert report.failed_without_reason == 0
    assert report.outbox == {"succeeded": REFRESHES}, report
    # A call is made again only when a kill cut it off: at most one per pool process killed.
    assert report.duplicate_refresh_calls <= 3 * len(report.kills), report
    # Every item synced, and each store holds exactly the items: no lot lost or doubled --
    # not even for a moment (no create applied twice, which the sync would have cleaned up).
    assert report.items_not_synced == 0, report
    assert report.duplicate_creates == {"bricklink": 0, "brickowl": 0}, report
    account = InventoryItem.objects.order_by("-id").first().account
    assert_stores_match_items(server, account)
