"""Many processes, one quota: real separate processes on PostgreSQL, started together."""

import json
import subprocess
import sys
import time

import pytest

from ratelimit.models import Bucket
from tests.harness import ROOT, child_env

HAMMER = """
import json, os, sys, time
import django
django.setup()
from django.conf import settings
settings.RATE_LIMITS = json.loads(os.environ["HAMMER_LIMITS"])
from django.db import connection
from ratelimit.services import rate_limit_take

attempts = int(sys.argv[1])
go = float(sys.argv[2])
connection.ensure_connection()
while time.time() < go:
    time.sleep(0.001)
granted = sum(rate_limit_take(names="hammer").granted for _ in range(attempts))
print(json.dumps({"granted": granted}))
"""


def hammer(limits: dict, *, processes: int, attempts: int) -> list[int]:
    env = child_env(HAMMER_LIMITS=json.dumps(limits))
    go = time.time() + 3  # every process connected before the first take
    children = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, str(attempts), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    counts = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        counts.append(json.loads(out.strip().splitlines()[-1])["granted"])
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
