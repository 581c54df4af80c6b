"""Tasks through real worker processes: on Redis + PostgreSQL, and on the embedded stack."""

import os
import subprocess
import sys
import time

import pytest

from core.models import WorkerHeartbeat
from core.tasks import heartbeat
from tests.harness import ROOT, wait_for


@pytest.mark.worker
def test_heartbeat_task_runs_end_to_end_through_a_real_worker(worker):
    heartbeat.apply_async(queue="urgent")
    beat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname=worker.name).first(),
        message="the worker to record its heartbeat",
    )
    assert beat.beats == 1
    heartbeat.delay()
    wait_for(lambda: WorkerHeartbeat.objects.get(hostname=worker.name).beats == 2)


def _embedded_env(var_dir) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    return {
        **env,
        "BRICKOPS_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }


def _manage(env, *args, timeout=120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


SEND_AND_COUNT = """
import django; django.setup()
import sys
from core.tasks import heartbeat
for _ in range(int(sys.argv[1])):
    heartbeat.delay()
"""


def test_embedded_stack_worker_and_producers_share_sqlite_and_the_filesystem_broker(tmp_path):
    env = _embedded_env(tmp_path)
    _manage(env, "migrate", "--noinput")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-n",
            "embedded@localhost",
            "-Q",
            "urgent,default",
            "-c",
            "2",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Three producer processes enqueue at once while the worker writes to the same file.
        producers = [
            subprocess.Popen([sys.executable, "-c", SEND_AND_COUNT, "10"], cwd=ROOT, env=env)
            for _ in range(3)
        ]
        assert all(p.wait(120) == 0 for p in producers)
        count = (
            "from core.models import WorkerHeartbeat as W;"
            "print(sum(W.objects.values_list('beats', flat=True)))"
        )
        deadline = time.monotonic() + 60
        beats = 0
        while time.monotonic() < deadline and beats < 30:
            beats = int(_manage(env, "shell", "-c", count).strip().splitlines()[-1])
            time.sleep(0.5)
        assert beats == 30
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "database is locked" not in output
    assert (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "broker").is_dir()


@pytest.mark.django_db(transaction=True)
def test_worker_heartbeat_record_counts_concurrent_first_beats():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from core.services import worker_heartbeat_record

    def beat(_):
        try:
            worker_heartbeat_record(hostname="racing@host")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(beat, range(40)))
    assert WorkerHeartbeat.objects.get(hostname="racing@host").beats == 40
