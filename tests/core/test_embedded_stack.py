"""The catalog and inventory sync on the embedded stack: SQLite, the filesystem broker, a real
worker process and the sandbox, each a separate process, as `make run` runs them without
configuration."""

import os
import subprocess
import sys
import time

from tests.conftest import sandbox_env
from tests.harness import ROOT

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

INVENTORY = """
import django; django.setup()
from decimal import Decimal
from accounts.services import account_create
from accounts.models import User
from core import clock
from inventory.models import MarketplaceConnection
from inventory.services import item_archive, item_create, item_update
import os, json
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

SYNCED = """
import django; django.setup()
from inventory.models import SyncState
print(sorted(SyncState.objects.values_list("status", flat=True)))
"""

STATUS = """
import django; django.setup()
from catalog.models import RefreshJob
print(sorted(RefreshJob.objects.values_list("resource", "status")))
"""


def _run(env, code):
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_catalog_and_inventory_run_on_sqlite_and_the_filesystem_broker(tmp_path, sandbox):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    env |= {
        "BRICKOPS_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        **sandbox_env(sandbox),
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-n",
            "embedded-cat@localhost",
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
        _run(env, REFRESH)
        expected = (
            "[('part:3001', 'succeeded'), ('part:9999999', 'failed'), "
            "('part_colors:3001', 'succeeded'), ('price_guide:3001:11', 'succeeded')]"
        )
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and status != expected:
            status = _run(env, STATUS)
            time.sleep(0.5)
        assert status == expected

        import json

        from tests.harness import SandboxProcess

        connections = {
            "bricklink": SandboxProcess.BRICKLINK_CREDENTIALS,
            "brickowl": {"api_key": SandboxProcess.BRICKOWL_KEY},
        }
        _run({**env, "CONNECTIONS": json.dumps(connections)}, INVENTORY)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _run(env, SYNCED) != str(["synced"] * 4):
            time.sleep(0.5)
        assert _run(env, SYNCED) == str(["synced"] * 4)
        bricklink = sandbox.inventory("bricklink", connections["bricklink"]["consumer_key"])
        brickowl = sandbox.inventory("brickowl", connections["brickowl"]["api_key"])
        assert [lot["quantity"] for lot in bricklink] == [6]
        assert [lot["qty"] for lot in brickowl] == ["6"]
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output[-3000:]
