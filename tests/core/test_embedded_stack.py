"""The embedded stack, as `make run` runs it without configuration: SQLite, the filesystem
broker, a real worker process and the sandbox, each a separate process.

One scenario (one database migrated once, one worker) and two tests on it: producers and the
worker share the files, and the catalog and the inventory sync do their work there."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import sandbox_env
from tests.harness import ROOT, SandboxProcess

# One pytest-xdist worker runs the scenario, so its stack is set up once.
pytestmark = pytest.mark.xdist_group("embedded_stack")


@dataclass
class EmbeddedStack:
    env: dict[str, str]
    var_dir: Path
    log: Path

    def python(self, code: str, *args: str, **extra_env: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def query(self, sql: str) -> list[tuple]:
        """Read the stack's database as it is now (read-only, beside its processes)."""
        uri = f"file:{self.var_dir / 'db.sqlite3'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            return db.execute(sql).fetchall()

    def wait_until(self, sql: str, expected: list[tuple], seconds: float = 60) -> list[tuple]:
        deadline = time.monotonic() + seconds
        seen = self.query(sql)
        while seen != expected and time.monotonic() < deadline:
            time.sleep(0.3)
            seen = self.query(sql)
        return seen

    def worker_log(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, sandbox_server):
    var_dir = tmp_path_factory.mktemp("embedded")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {
        "BRICKOPS_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        **sandbox_env(sandbox_server),
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr
    log = var_dir / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker"),
                *("-n", "embedded@localhost", "-Q", "urgent,default", "-c", "2"),
                *("-l", "INFO", "--without-gossip", "--without-mingle"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield EmbeddedStack(env=env, var_dir=var_dir, log=log)
    worker.kill()  # a throwaway stack: nothing to shut down warmly
    worker.wait(timeout=30)


SEND_HEARTBEATS = """
import django; django.setup()
import sys
from core.tasks import heartbeat
for _ in range(int(sys.argv[1])):
    heartbeat.delay()
"""

BEATS = "SELECT coalesce(sum(beats), 0) FROM core_workerheartbeat"


def test_producers_and_the_worker_share_sqlite_and_the_filesystem_broker(embedded):
    # Three producer processes enqueue at once while the worker writes to the same file.
    producers = [
        subprocess.Popen([sys.executable, "-c", SEND_HEARTBEATS, "10"], cwd=ROOT, env=embedded.env)
        for _ in range(3)
    ]
    assert all(p.wait(120) == 0 for p in producers)
    assert embedded.wait_until(BEATS, [(30,)]) == [(30,)]
    assert (embedded.var_dir / "db.sqlite3").exists()
    assert (embedded.var_dir / "broker").is_dir()
    log = embedded.worker_log()
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]


REFRESH = """
import django; django.setup()
from catalog.models import Kind, Priority
from catalog.domain import Resource
from catalog.services import refresh_enqueue
for kind in (Kind.PART, Kind.PART_COLORS):
    refresh_enqueue(resource=Resource(kind, "3001"), priority=Priority.HIGH)
refresh_enqueue(resource=Resource(Kind.PRICE_GUIDE, "3001", 11), priority=Priority.HIGH)
refresh_enqueue(resource=Resource(Kind.PART, "9999999"), priority=Priority.HIGH)
"""

REFRESHES = "SELECT resource, status FROM catalog_refreshjob ORDER BY resource"

INVENTORY = """
import django; django.setup()
import json, os
from decimal import Decimal
from accounts.services import account_create
from accounts.models import User
from core import clock
from inventory.models import MarketplaceConnection
from inventory.services import item_archive, item_create, item_update
owner = account_create(name="Embedded", owner_username="emb", password="emb-password-1")
user = User.objects.get(username="emb")
for provider, creds in json.loads(os.environ["CONNECTIONS"]).items():
    MarketplaceConnection.objects.create(account_id=owner.account_id, provider=provider,
                                         enabled=True, credentials=creds, updated_at=clock.now())
data = {"part_number": "3001", "color_id": 11, "condition": "new", "quantity_available": 4,
        "price": Decimal("0.25")}
kept = item_create(account=user.membership.account, actor=user, data=data)
item_update(item=kept, actor=user, data={"quantity_available": 6})
gone = item_create(account=user.membership.account, actor=user, data={**data, "color_id": 5})
item_archive(item=gone, actor=user)
"""

SYNCS = "SELECT status FROM inventory_syncstate ORDER BY status"


def test_catalog_refreshes_and_inventory_syncs_run_on_the_embedded_stack(embedded, sandbox):
    embedded.python(REFRESH)
    expected = [
        ("part:3001", "succeeded"),
        ("part:9999999", "failed"),
        ("part_colors:3001", "succeeded"),
        ("price_guide:3001:11", "succeeded"),
    ]
    assert embedded.wait_until(REFRESHES, expected) == expected

    connections = {
        "bricklink": SandboxProcess.BRICKLINK_CREDENTIALS,
        "brickowl": {"api_key": SandboxProcess.BRICKOWL_KEY},
    }
    embedded.python(INVENTORY, CONNECTIONS=json.dumps(connections))
    synced = [("synced",)] * 4
    assert embedded.wait_until(SYNCS, synced) == synced
    bricklink = sandbox.inventory("bricklink", connections["bricklink"]["consumer_key"])
    brickowl = sandbox.inventory("brickowl", connections["brickowl"]["api_key"])
    assert [lot["quantity"] for lot in bricklink] == [6]
    assert [lot["qty"] for lot in brickowl] == ["6"]
    log = embedded.worker_log()
    assert "Traceback" not in log, log[-3000:]
