"""Each fault the system promises to survive, with real processes: the broker lost, the
database connection cut, a publish lost after commit, a message delivered twice, a worker
stopped warm or cold, and a job that can never succeed."""

import threading
import time

import pytest
from django.db import connection

from catalog import work as catalog_work
from catalog.domain import Resource
from catalog.models import JobStatus, Kind, Part, PriceGuide, Priority, RefreshJob
from catalog.services import refresh_drain, refresh_enqueue_many
from catalog.tasks import process_refresh
from catalog.work import REFRESHES
from inventory.models import SyncState
from inventory.services import item_create
from inventory.tasks import sync_item
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import WorkerProcess, suite_database_url, wait_for
from tests.inventory.scenario import BL_KEY, connect
from tests.reliability.chaos import (
    FAST_RECOVERY,
    apply_fast_recovery,
    outbox_settled,
    resources,
    settle,
)
from tests.reliability.servers import RedisServer

pytestmark = pytest.mark.worker


def enqueue_quietly(monkeypatch, found):
    """Rows in PostgreSQL with no message sent (as if every publish had been lost)."""
    monkeypatch.setattr(catalog_work, "publish_refresh", lambda *args, **kw: None)
    created, _ = refresh_enqueue_many(resources=found, priority=Priority.NORMAL)
    monkeypatch.undo()
    return sorted(created.values())


def test_broker_lost_with_messages_queued_then_back_empty(
    sandbox_server,
    bricklink_sandbox,
    sandbox_catalog,
    transactional_db,
    settings,
    monkeypatch,
    record,
):
    """Our own Redis dies holding queued messages and comes back empty: the worker reconnects
    by itself, and the drain (a beat task) finds the rows in PostgreSQL and finishes them."""
    apply_fast_recovery(settings)
    redis_server = RedisServer().start()
    client = redis_server.celery_app()
    bricklink_sandbox.control(latency={"fixed_ms": 150, "random_ms": 0})
    from tests.conftest import sandbox_env

    worker = WorkerProcess(
        concurrency=1,
        control_app=client,
        env={
            **sandbox_env(sandbox_server),
            **FAST_RECOVERY,
            "CELERY_BROKER_URL": redis_server.url,
            "CELERY_KEY_PREFIX": "chaos:",
        },
    ).start()
    try:
        job_ids = enqueue_quietly(monkeypatch, resources(sandbox_catalog, 30))
        for job_id in job_ids:
            client.send_task("catalog.process_refresh", args=[job_id], queue="default")
        wait_for(lambda: RefreshJob.objects.filter(status="succeeded").exists(), timeout=20)
        assert any(b"default" in key for key in redis_server.stored_keys())  # messages were queued
        redis_server.kill()
        redis_server.start()  # same port, nothing in it
        # Nothing survived (the worker may already have bound its queues again: no messages).
        assert [key for key in redis_server.stored_keys() if b"_kombu.binding" not in key] == []
        assert worker.proc.poll() is None  # still the same process
        wait_for(
            lambda: worker.log_path.read_text().count("Connected to redis") >= 2,
            timeout=90,  # Celery's own reconnect backoff, on a loaded machine
            message="the worker to reconnect by itself",
        )
        client = redis_server.celery_app()  # this test's own connections died too
        pending = RefreshJob.objects.filter(status="pending").count()
        assert pending > 0  # their messages went with the broker
        client.send_task("catalog.drain", queue="default")  # what beat sends every interval
        drained = time.monotonic()
        wait_for(outbox_settled, timeout=60, message="the drained rows to finish")
        assert RefreshJob.objects.filter(status="succeeded").count() == 30
        took = round(time.monotonic() - drained, 1)
        record(
            "broker_loss",
            {"jobs": 30, "lost_with_the_broker": pending, "seconds_to_finish_after_drain": took},
        )
    finally:
        worker.kill()
        redis_server.kill()


def test_database_connections_cut_mid_task_leave_no_half_written_refresh(
    sole_workers,
    transactional_db,
    bricklink_sandbox,
    sandbox_catalog,
    settings,
    start_worker,
    record,
):
    """``pg_terminate_backend`` on every worker connection, again and again, while refreshes
    run: each ends succeeded (retried or reclaimed), and every price guide has its four rows
    (an upsert is all or nothing)."""
    apply_fast_recovery(settings)
    # Its workers' connections are the ones cut (by their application_name), and they do all
    # the work: the session's worker is paused.
    tagged = f"{suite_database_url()}?application_name=brickops-chaos"
    start_worker(env={**FAST_RECOVERY, "DATABASE_URL": tagged}, concurrency=3)
    bricklink_sandbox.control(latency={"fixed_ms": 30, "random_ms": 30})
    found = resources(sandbox_catalog, 90)
    refresh_enqueue_many(resources=found, priority=Priority.NORMAL)
    cuts = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not outbox_settled():
        refresh_drain()  # NORMAL rows wait for the drain
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'brickops-chaos'"
            )
            cuts += cursor.fetchone()[0]
        time.sleep(0.3)
    assert cuts > 0, RefreshJob.objects.values_list("status", flat=True)
    took = settle(outbox_settled, timeout=120)
    assert set(RefreshJob.objects.values_list("status", flat=True)) == {"succeeded"}
    record(
        "database_connections_cut",
        {"jobs": len(found), "connections_cut": cuts, "settle_seconds": round(took, 1)},
    )
    guides = [r for r in found if r.kind == Kind.PRICE_GUIDE]
    for resource in guides:
        assert PriceGuide.objects.filter(no=resource.no, color_id=resource.color_id).count() == 4
    parts = [r.no for r in found if r.kind == Kind.PART]
    assert Part.objects.filter(no__in=parts).count() == len(parts)


def test_a_publish_lost_after_commit_is_run_by_the_next_drain(
    worker, bricklink_sandbox, monkeypatch
):
    job_ids = enqueue_quietly(monkeypatch, [Resource(Kind.PART, "3001")])
    time.sleep(1)
    assert RefreshJob.objects.get(pk=job_ids[0]).status == "pending"  # nobody was told
    run = refresh_drain()  # one beat interval later
    assert run.dispatched == 1
    wait_for(lambda: RefreshJob.objects.get(pk=job_ids[0]).status == "succeeded", timeout=20)
    assert bricklink_sandbox.calls()["by_resource"]["GET /bricklink/items/PART/3001"] == 1


def test_a_refresh_delivered_twice_calls_bricklink_once(worker, bricklink_sandbox, monkeypatch):
    """The same message body twice, one after the other and at the same time."""
    bricklink_sandbox.control(latency={"fixed_ms": 300, "random_ms": 0})
    [first, second] = enqueue_quietly(
        monkeypatch, [Resource(Kind.PART, "3001"), Resource(Kind.PART, "3003")]
    )
    process_refresh.apply_async(args=[first], queue="default")
    wait_for(lambda: RefreshJob.objects.get(pk=first).status == "succeeded", timeout=20)
    process_refresh.apply_async(args=[first], queue="default")  # a late duplicate
    for _ in range(2):  # two at once
        process_refresh.apply_async(args=[second], queue="default")
    wait_for(lambda: RefreshJob.objects.get(pk=second).status == "succeeded", timeout=20)
    time.sleep(1)  # the duplicates have run by now (the worker has two processes)
    calls = bricklink_sandbox.calls()["by_resource"]
    assert calls["GET /bricklink/items/PART/3001"] == 1
    assert calls["GET /bricklink/items/PART/3003"] == 1


def test_an_inventory_sync_delivered_twice_at_once_makes_one_lot(
    bricklink_sandbox, transactional_db, monkeypatch
):
    from inventory import work as inventory_work

    monkeypatch.setattr(inventory_work, "publish_sync", lambda *args: None)
    account = AccountFactory()
    connect(account)
    actor = MembershipFactory(account=account, role="owner").user
    item = item_create(
        account=account,
        actor=actor,
        data={
            "part_number": "3001",
            "color_id": 11,
            "condition": "new",
            "quantity_available": 5,
        },
    )
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            sync_item(item_id=item.id, provider="bricklink")
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sync_item(item_id=item.id, provider="bricklink")  # and once more, after
    lots = bricklink_sandbox.inventory("bricklink", BL_KEY)
    assert [lot["quantity"] for lot in lots] == [5]
    creates = [e for e in bricklink_sandbox.ledger() if e["op"] == "create"]
    assert len(creates) == 1
    assert SyncState.objects.get(item=item, provider="bricklink").status in ("synced", "syncing")


def test_warm_shutdown_lets_the_running_refresh_finish(
    sole_workers, bricklink_sandbox, start_worker, transactional_db, monkeypatch
):
    doomed = start_worker(concurrency=1)
    bricklink_sandbox.control(latency={"fixed_ms": 2500, "random_ms": 0})
    [job_id] = enqueue_quietly(monkeypatch, [Resource(Kind.PART, "3001")])
    process_refresh.apply_async(args=[job_id], queue="default")
    wait_for(lambda: bricklink_sandbox.calls()["total"] >= 1, timeout=20)
    doomed.stop(timeout=30)  # SIGTERM: finish what is running, take nothing new
    assert doomed.proc.returncode == 0
    job = RefreshJob.objects.get(pk=job_id)
    assert job.status == "succeeded"
    assert bricklink_sandbox.calls()["by_resource"]["GET /bricklink/items/PART/3001"] == 1


def test_cold_stop_is_recovered_later_and_completes_once(
    bricklink_sandbox, start_worker, transactional_db, settings, monkeypatch
):
    apply_fast_recovery(settings)
    doomed = start_worker(concurrency=1, env=FAST_RECOVERY, queues="doomed")
    bricklink_sandbox.control(latency={"fixed_ms": 3000, "random_ms": 0})
    [job_id] = enqueue_quietly(monkeypatch, [Resource(Kind.PART, "3001")])
    process_refresh.apply_async(args=[job_id], queue="doomed")
    wait_for(lambda: bricklink_sandbox.calls()["total"] >= 1, timeout=20)
    doomed.kill()  # cold: the process and its pool die mid-call
    bricklink_sandbox.control(latency={"fixed_ms": 0, "random_ms": 0})
    start_worker(env=FAST_RECOVERY)
    settle(outbox_settled, timeout=60)
    job = RefreshJob.objects.get(pk=job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)  # the lost run counted once
    # The call the dead worker made, and the one that completed it: no third.
    assert bricklink_sandbox.calls()["by_resource"]["GET /bricklink/items/PART/3001"] == 2


def test_a_poison_refresh_ends_failed_after_its_attempts_without_a_hot_loop(
    worker, bricklink_sandbox, settings
):
    bricklink_sandbox.control(faults=[{"provider": "bricklink", "path": "^/items", "error_500": 1}])
    started = time.monotonic()
    [job_id] = refresh_enqueue_many(
        resources=[Resource(Kind.PART, "3001")], priority=Priority.HIGH
    )[0].values()
    wait_for(lambda: RefreshJob.objects.get(pk=job_id).status == JobStatus.FAILED, timeout=90)
    took = time.monotonic() - started
    job = RefreshJob.objects.get(pk=job_id)
    attempts = REFRESHES.policy.retry.max_attempts
    assert job.attempts == attempts
    assert job.last_error["code"] == "transient"
    time.sleep(1.5)  # nothing calls again once it has failed
    calls = bricklink_sandbox.calls()["by_resource"]["GET /bricklink/items/PART/3001"]
    assert calls == attempts  # one per attempt, no hot loop
    # The backoff (1 s, 2 s, 4 s, ...) was waited out between attempts, not skipped.
    assert took >= sum(REFRESHES.policy.retry.base_seconds * 2**n for n in range(attempts - 1))
