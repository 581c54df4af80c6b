"""Takes per second and latency of the shared limiter on PostgreSQL, beside the floor.

The floor is a bare single-statement ``UPDATE ... RETURNING`` on a one-row table through
psycopg in autocommit: one round trip, the least any shared counter in PostgreSQL can cost.
A take is a transaction that locks its rows, decides in Python and writes them back.

Each scenario runs 1 and 8 processes at once for ``--seconds``; every process records the
latency of every operation. Limits are set so nothing is denied (a denial is as costly as a
grant: it also writes its denial count).

    .venv/bin/python bench/ratelimit.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import (
    BENCH_DATABASE_URL,
    ROOT,
    percentile,
    prepare_database,
    setup_bench_django,
    write_results,
)

DATABASE_URL = BENCH_DATABASE_URL
HUGE = 10**12
LIMITS = {
    "bench:unsharded": {"rules": [{"kind": "fixed_window", "rate": HUGE, "period": 86400}]},
    "bench:sharded": {
        "rules": [{"kind": "fixed_window", "rate": HUGE, "period": 86400, "shards": 8}]
    },
    "bench:bricklink-shape": {
        "rules": [
            {"kind": "fixed_window", "rate": HUGE, "period": 86400},
            {"kind": "token_bucket", "rate": HUGE, "period": 1, "capacity": HUGE},
        ]
    },
}
SCENARIOS = ("floor", "bench:unsharded", "bench:sharded", "bench:bricklink-shape")


def worker(scenario: str, seconds: float, go: float) -> None:
    """One process: run ``scenario`` from ``go`` for ``seconds``; print latencies in µs."""
    setup_bench_django()
    from django.conf import settings

    settings.RATE_LIMITS = LIMITS
    latencies: list[float] = []
    if scenario == "floor":
        import psycopg

        conn = psycopg.connect(
            DATABASE_URL.replace("postgres://", "postgresql://"), autocommit=True
        )

        def operation() -> None:
            conn.execute("UPDATE bench_floor SET n = n + 1 WHERE id = 1 RETURNING n").fetchone()
    else:
        from django.db import connection

        from ratelimit.services import rate_limit_take

        connection.ensure_connection()

        def operation() -> None:
            if not rate_limit_take(names=scenario).granted:
                raise RuntimeError("denied: the benchmark limits should never deny")

    operation()  # connect and warm up before the start line
    while time.time() < go:
        time.sleep(0.0005)
    end = go + seconds
    clock = time.perf_counter
    while time.time() < end:
        started = clock()
        operation()
        latencies.append((clock() - started) * 1e6)
    print(json.dumps(latencies))


def run(scenario: str, processes: int, seconds: float) -> dict[str, float]:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    go = time.time() + 2.0
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                scenario,
                "--seconds",
                str(seconds),
                "--go",
                str(go),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    latencies: list[float] = []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        if child.returncode:
            raise SystemExit(f"{scenario} worker failed")
        latencies.extend(json.loads(out.strip().splitlines()[-1]))
    return {
        "processes": processes,
        "operations": len(latencies),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_us": round(percentile(latencies, 50), 1),
        "p99_us": round(percentile(latencies, 99), 1),
    }


def prepare() -> None:
    setup_bench_django()
    prepare_database()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id int PRIMARY KEY, n bigint)")
        cursor.execute("INSERT INTO bench_floor VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
        cursor.execute("DELETE FROM ratelimit_bucket WHERE name LIKE 'bench:%%'")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--worker")
    parser.add_argument("--go", type=float)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.seconds, args.go)
        return

    prepare()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for processes in (1, 8):
        for scenario in SCENARIOS:
            figures = run(scenario, processes, args.seconds)
            results.setdefault(scenario, {})[str(processes)] = figures
            print(
                f"{scenario:24} {processes} proc: {figures['per_second']:8.0f} ops/s  "
                f"p50 {figures['p50_us']:7.0f} us  p99 {figures['p99_us']:7.0f} us"
            )
    print()
    ratios: dict[str, dict[str, float]] = {}
    for scenario in SCENARIOS[1:]:
        for processes in ("1", "8"):
            ours, floor = results[scenario][processes], results["floor"][processes]
            ratio = {
                "throughput_vs_floor": round(ours["per_second"] / floor["per_second"], 3),
                "p50_vs_floor": round(ours["p50_us"] / floor["p50_us"], 2),
                "p99_vs_floor": round(ours["p99_us"] / floor["p99_us"], 2),
            }
            ratios.setdefault(scenario, {})[processes] = ratio
            print(
                f"{scenario:24} {processes} proc: {ratio['throughput_vs_floor']:.3f} x the floor's "
                f"throughput, p50 {ratio['p50_vs_floor']:.1f} x, p99 {ratio['p99_vs_floor']:.1f} x"
            )
    write_results(
        "ratelimit",
        {
            "seconds_per_scenario": args.seconds,
            "database": "PostgreSQL on 127.0.0.1 (same machine, 2 cores shared with the clients)",
            "floor": "UPDATE bench_floor SET n = n + 1 WHERE id = 1 RETURNING n "
            "(psycopg, autocommit)",
            "results": results,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
