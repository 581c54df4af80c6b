"""Many processes, one quota: real separate processes on PostgreSQL (forked, each with its own
connection), taking at once; and separate processes on the embedded SQLite stack."""

import json
import multiprocessing
import subprocess
import sys
import time

import pytest
from django.db import connections

from ratelimit.models import Bucket
from tests.harness import ROOT


def take_at(limits: dict, attempts: int, go: float, results) -> None:
    """One competing process: its own connection, its takes from ``go`` on. Answers its count,
    or what went wrong (never leaves the parent waiting)."""
    from django.db import connection
    from django.test.utils import override_settings

    from ratelimit.services import rate_limit_take

    try:
        with override_settings(RATE_LIMITS=limits):  # the limits' cache hears of it
            connection.ensure_connection()
            while time.time() < go:
                time.sleep(0.001)
            results.put(sum(rate_limit_take(names="hammer").granted for _ in range(attempts)))
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(repr(exc))
    finally:
        connection.close()


def hammer(limits: dict, *, processes: int, attempts: int) -> list[int]:
    """``processes`` forked from this one (Django already loaded), each with a connection of
    its own, taking at once."""
    connections.close_all()  # no child may share this process's connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    go = time.time() + 1  # every process connected before the first take
    children = [
        context.Process(target=take_at, args=(limits, attempts, go, results))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    counts = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert all(isinstance(count, int) for count in counts), counts
    assert [child.exitcode for child in children] == [0] * processes
    return counts


@pytest.mark.django_db(transaction=True)
def test_eight_processes_share_a_fixed_window_of_500_exactly():
    limits = {"hammer": {"rules": [{"kind": "fixed_window", "rate": 500, "period": 86400}]}}
    counts = hammer(limits, processes=8, attempts=100)  # 800 attempts for 500 tokens
    assert sum(counts) == 500
    assert sum(1 for count in counts if count) >= 2  # the processes really competed
    [row] = Bucket.objects.filter(name="hammer")
    assert row.value == 0
    assert row.used == 500
    assert row.denials == 300


@pytest.mark.django_db(transaction=True)
def test_eight_processes_on_a_sharded_limit_never_exceed_it():
    limits = {
        "hammer": {"rules": [{"kind": "fixed_window", "rate": 500, "period": 86400, "shards": 4}]}
    }
    counts = hammer(limits, processes=8, attempts=100)
    assert sum(counts) <= 500
    assert sum(counts) >= 490  # two choices drain the shards almost evenly
    assert sum(Bucket.objects.filter(name="hammer").values_list("used", flat=True)) == sum(counts)


SQLITE_HAMMER = """
import json, os, sys
import django
django.setup()
from django.conf import settings
settings.RATE_LIMITS = json.loads(os.environ["HAMMER_LIMITS"])
from ratelimit.services import rate_limit_take
print(sum(rate_limit_take(names="hammer").granted for _ in range(int(sys.argv[1]))))
"""


def test_processes_share_a_limit_on_the_embedded_sqlite_stack(tmp_path):
    """The embedded mode: SQLite's IMMEDIATE transactions serialise takes across processes."""
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    env |= {
        "BRICKOPS_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "HAMMER_LIMITS": json.dumps(
            {"hammer": {"rules": [{"kind": "fixed_window", "rate": 60, "period": 86400}]}}
        ),
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SQLITE_HAMMER, "30"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    granted = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        granted.append(int(out.strip().splitlines()[-1]))
    assert sum(granted) == 60
