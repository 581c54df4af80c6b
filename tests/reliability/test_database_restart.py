"""PostgreSQL itself goes away mid-run: our own cluster on a free port is stopped as a crash
stops it (no checkpoint, open transactions lost) while refreshes and inventory syncs run, and
comes back a few seconds later. Every job ends with the right result, no upsert is left
half-written, and each store holds exactly the seller's items.

Everything in this scenario runs on its own PostgreSQL and its own Redis: the workers, and a
driver process that enqueues and plays beat (tests/reliability/db_restart_driver.py)."""

import json
import subprocess
import sys
import time

import psycopg
import pytest

from tests.conftest import sandbox_env
from tests.harness import ROOT, SandboxProcess, WorkerProcess, child_env, wait_for
from tests.longform import LONG
from tests.reliability.chaos import FAST_RECOVERY
from tests.reliability.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.worker

JOBS, CHANGES, PARTS, DOWN_SECONDS = (1000, 200, 400, 5) if LONG else (200, 40, 160, 3)


def _counts(url: str) -> dict[str, dict[str, int]]:
    with psycopg.connect(url, connect_timeout=2) as conn:
        return {
            table: dict(conn.execute(f"SELECT status, count(*) FROM {table} GROUP BY status"))
            for table in ("catalog_refreshjob", "inventory_syncstate")
        }


def _mid_run(url: str) -> dict | None:
    """The counts once a tenth of the refreshes are done, some in flight, and syncs running."""
    counts = _counts(url)
    refreshes, syncs = counts["catalog_refreshjob"], counts["inventory_syncstate"]
    running = refreshes.get("succeeded", 0) >= JOBS // 10 and refreshes.get("inflight", 0) > 0
    return counts if running and syncs.get("syncing", 0) + syncs.get("pending", 0) > 0 else None


def test_postgresql_restarted_mid_run_loses_and_half_writes_nothing(record):
    postgres = PostgresServer().init().start()
    postgres.create_database("brickops")
    broker = RedisServer().start()
    sandbox = SandboxProcess(args=("--parts", str(PARTS))).start()
    sandbox.control(
        bricklink_max_in_flight=64, bricklink_quota=10**9, latency={"fixed_ms": 20, "random_ms": 40}
    )
    database = postgres.url("brickops")
    env = {
        **sandbox_env(sandbox),
        **FAST_RECOVERY,
        "DATABASE_URL": database,
        "REDIS_URL": f"redis://127.0.0.1:{broker.port}/1",
        "CELERY_BROKER_URL": broker.url,
        "CELERY_KEY_PREFIX": "dbchaos:",
    }
    workers: list[WorkerProcess] = []
    driver = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=child_env(**env),
            check=True,
            capture_output=True,
            timeout=180,
        )
        control = broker.celery_app("dbchaos:")
        workers = [
            WorkerProcess(concurrency=3, env=env, control_app=control).start() for _ in range(2)
        ]
        driver = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.db_restart_driver",
                str(JOBS),
                str(CHANGES),
                str(PARTS),
                str(sandbox.port),
                "150",
            ],
            cwd=ROOT,
            env=child_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert driver.stdout.readline().strip() == "enqueued", driver.stderr.read()
        at_crash = wait_for(
            lambda: _mid_run(database),
            timeout=120,
            interval=0.05,
            message="refreshes and syncs under way",
        )
        postgres.crash()
        time.sleep(DOWN_SECONDS)
        postgres.start()
        back = time.monotonic()
        out, err = driver.communicate(timeout=360)
        assert driver.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        report.update(
            down_seconds=DOWN_SECONDS,
            at_crash=at_crash,
            seconds_to_finish_after_restart=round(time.monotonic() - back, 1),
        )
        record("database_restart", report)
        # Every job ended well: nothing lost with the transactions the crash cut off.
        assert report["outbox"] == {"succeeded": JOBS}, report
        # Each stored result is the sandbox's, whole: a part's row, a part's full color list,
        # a price guide's four rows from one upsert.
        assert report["parts_wrong"] == [], report
        assert report["colors_wrong"] == [], report
        assert report["price_guides_wrong"] == [], report
        # Every item synced, and each store holds exactly the items: no lot lost or doubled.
        assert set(report["syncs"]) == {"synced"}, report
        assert report["stores_mismatch"] is None, report
        # The workers lived through it: the same processes reconnected by themselves.
        assert all(worker.proc.poll() is None for worker in workers)
    finally:
        if driver and driver.poll() is None:
            driver.kill()
        for worker in workers:
            worker.kill()
        sandbox.stop()
        broker.kill()
        postgres.destroy()
