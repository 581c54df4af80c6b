"""The integration suite under seeded fault injection (tests/faultmode.py): every marketplace
call of the session's sandbox fails at 5-10 %, in equal parts 500, gateway 503, hang past the
timeout, malformed body, 429 and applied-then-timed-out, and every worker test stays green.

It runs as its own pytest session (its own test database, Redis databases and key prefixes),
so nothing of this session's state is shared. The suite runs one seed at 10 % over the
worker tests of the stock flows (:data:`SHORT_FORM`; not the tests that count calls exactly
and get a clean sandbox: all run in the suite anyway); ``make chaos`` runs every worker test
at 5, 7 and 10 % with three seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.harness import ROOT
from tests.longform import LONG

RUNS = [(1, 0.05), (2, 0.07), (3, 0.10)] if LONG else [(1, 0.10)]
pytestmark = pytest.mark.worker

# The short form: the worker tests of the flows that move a seller's stock (inventory syncs,
# orders), without the property test (it stages faults of its own). The catalog's, the
# takeover's, logging's and metrics' worker tests run under faults in the long form only (the
# catalog's faults have scenarios of their own: tests/reliability/test_faults.py).
SHORT_FORM = ["tests/inventory/test_integration.py", "tests/orders/test_integration.py"]
SHORT_FORM_LEAVES_OUT = [
    "tests/inventory/test_integration.py::test_random_changes_with_faults_converge",
]


def _fault_mode_env(seed: int, rate: float, report: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Its own metrics directory (test settings make one) and no long forms inside.
        if key not in ("PROMETHEUS_MULTIPROC_DIR", "CHAOS")
    }
    env.update(
        SANDBOX_FAULT_RATE=str(rate),
        SANDBOX_FAULT_SEED=str(seed),
        SANDBOX_FAULT_REPORT=report,
        TEST_DATABASE_NAME=f"{settings.DATABASES['default']['TEST']['NAME']}_faults",
        # This session's Redis databases under other prefixes: it waits on this test, so the
        # nested session's flushes of the cache between tests take nothing it still needs.
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_KEY_PREFIX=f"brickops-faults{settings.XDIST_WORKER}:",
        CACHE_KEY_PREFIX=f"brickops-faults{settings.XDIST_WORKER}",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.parametrize(("seed", "rate"), RUNS)
def test_the_integration_suite_stays_green_under_seeded_faults(seed, rate, tmp_path, record):
    report_path = tmp_path / "faults.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(["tests"] if LONG else SHORT_FORM),
        "-m",
        # The short form leaves out the tests that get a clean sandbox anyway (exact_sandbox:
        # they count calls exactly, and run in the suite itself).
        "worker" if LONG else "worker and not exact_sandbox",
        "-q",
        "-p",
        "no:cacheprovider",
        "--ignore=tests/reliability",  # fault scenarios of their own kind, faults staged
    ]
    if not LONG:
        command += [f"--deselect={test}" for test in SHORT_FORM_LEAVES_OUT]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=_fault_mode_env(seed, rate, str(report_path)),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    faults = sum(report["faults"].values())
    share = round(faults / max(1, report["calls"]), 3)
    record("fault_injection", {**report, "summary": summary, "fault_share": share})
    # The mode was really on: the tests made calls, and about ``rate`` of them failed, the
    # ambiguous kinds (a hang, a mutation applied and never answered) among them.
    assert report["tests"] >= 8, report
    assert report["calls"] >= 150, report
    assert faults >= 0.4 * rate * report["calls"], report
    assert report["faults"].get("apply_then_timeout", 0) >= 1, report
    assert report["faults"].get("hang", 0) >= 1, report
    assert "passed" in summary, summary
    assert "failed" not in summary, summary
