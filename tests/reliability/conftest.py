"""``make chaos`` sets CHAOS=1: the long forms run, and their figures are written to
bench/results/reliability.json when the session ends."""

import json
import os
import platform
import subprocess
from datetime import UTC, datetime

import pytest

from tests.harness import ROOT
from tests.longform import LONG

_reports: dict[str, list] = {}


@pytest.fixture
def record():
    def add(scenario: str, figures: dict) -> None:
        _reports.setdefault(scenario, []).append(figures)

    return add


def pytest_sessionfinish(session, exitstatus):
    if not LONG or not _reports:
        return
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    path = ROOT / "bench" / "results" / "reliability.json"
    # A run of some scenarios replaces their figures and keeps the others'.
    earlier = json.loads(path.read_text()) if path.exists() else {}
    scenarios = {**earlier.get("scenarios", {}), **_reports}
    path.write_text(
        json.dumps(
            {
                "benchmark": "reliability",
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "commit": commit,
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                "passed": exitstatus == 0,
                "scenarios": scenarios,
            },
            indent=2,
        )
    )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.section("reliability figures")
        for scenario, runs in _reports.items():
            for figures in runs:
                reporter.write_line(f"{scenario}: {json.dumps(figures, separators=(',', ':'))}")
        reporter.write_line(f"written to {path.relative_to(ROOT)}")
