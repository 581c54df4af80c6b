"""/metrics in prometheus_client's multiprocess mode: the files of several processes added up,
the files of exited processes folded into archives without losing a count, and the reset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.exporter import ProcessFilesCollector, clear
from tests.harness import ROOT

COUNT = """
import sys
from core.metrics import REFRESH_DURATION, REFRESHES
REFRESHES.labels(kind="part", outcome="succeeded").inc({count})
REFRESH_DURATION.labels(kind="part").observe({seconds})
if {stay}:
    print("ready", flush=True)
    sys.stdin.read()
"""


def counting_process(path: Path, *, count: int, seconds: float, stay: bool = False):
    proc = subprocess.Popen(
        [sys.executable, "-c", COUNT.format(count=count, seconds=seconds, stay=stay)],
        cwd=ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if stay:
        assert proc.stdout.readline().strip() == "ready"
    else:
        assert proc.wait(30) == 0
    return proc


def collected(path: Path) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in ProcessFilesCollector(str(path)).collect()
        for s in metric.samples
    }


def test_process_files_are_added_up_and_exited_processes_folded_without_losing_counts(tmp_path):
    count = ("brickops_refreshes_total", (("kind", "part"), ("outcome", "succeeded")))
    duration_sum = ("brickops_refresh_duration_seconds_sum", (("kind", "part"),))
    duration_count = ("brickops_refresh_duration_seconds_count", (("kind", "part"),))

    def bucket(le: str):
        return ("brickops_refresh_duration_seconds_bucket", (("kind", "part"), ("le", le)))

    first = counting_process(tmp_path, count=3, seconds=1.5)
    live = counting_process(tmp_path, count=4, seconds=0.2, stay=True)
    values = collected(tmp_path)
    assert values[count] == 7
    assert values[bucket("0.25")] == 1
    assert values[bucket("2.0")] == 2
    assert values[duration_sum] == pytest.approx(1.7)
    files = set(os.listdir(tmp_path))
    assert f"counter_{first.pid}.db" not in files  # exited: folded into the archive
    assert {"counter_archive.db", "histogram_archive.db", f"counter_{live.pid}.db"} <= files

    assert collected(tmp_path) == values  # folding twice counts nothing twice

    live.stdin.close()
    assert live.wait(30) == 0
    counting_process(tmp_path, count=2, seconds=0.05)
    values = collected(tmp_path)
    assert values[count] == 9
    assert values[bucket("0.05")] == 1
    assert values[bucket("+Inf")] == 3
    assert values[duration_count] == 3
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".db")) == [
        "counter_archive.db",
        "histogram_archive.db",
    ]


def test_metrics_reset_keeps_only_the_files_of_running_processes(tmp_path):
    counting_process(tmp_path, count=1, seconds=0.1)
    collected(tmp_path)  # folds it into the archives
    live = counting_process(tmp_path, count=5, seconds=0.1, stay=True)
    try:
        assert clear(str(tmp_path)) == 2  # the two archives
        assert (
            collected(tmp_path)[
                ("brickops_refreshes_total", (("kind", "part"), ("outcome", "succeeded")))
            ]
            == 5
        )
    finally:
        live.stdin.close()
        live.wait(30)
