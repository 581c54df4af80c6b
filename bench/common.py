"""Shared by the benchmarks: Django set-up, machine facts, percentiles, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def setup_django(settings_module: str = "config.settings.test") -> None:
    # bench/ratelimit.py would shadow the ratelimit app: take bench/ off the path, and run
    # from the repository root (Celery puts the working directory first on sys.path).
    bench_dir = str(ROOT / "bench")
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != bench_dir]
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, object]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "commit": commit,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_results(name: str, figures: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **figures}, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return path


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brickops_bench"
)


def setup_bench_django() -> None:
    """Test settings on the bench database, with a broker prefix of its own (a test run on
    the same Redis never sees the benchmark's messages)."""
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("CELERY_KEY_PREFIX", "brickops-bench:")
    os.environ.setdefault("CACHE_KEY_PREFIX", "brickops-bench")
    setup_django("config.settings.test")


def prepare_database() -> None:
    """Create and migrate the bench database (idempotent)."""
    from django.core.management import call_command

    call_command("ensure_database")
    call_command("migrate", verbosity=0)
