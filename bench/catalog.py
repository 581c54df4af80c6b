"""The catalog's four benchmarks, each against real processes (PostgreSQL, Redis, gunicorn,
Celery workers, the sandbox over HTTP). Each writes ``bench/results/catalog_<name>.json``.

1. reads      GET of a fresh part, 32 clients for 20 s (wrk) against gunicorn, beside a bare
              Django view doing the same single-row SELECT, same server, same run.
2. dedup      500 concurrent refresh requests over 10 parts: outbox rows and BrickLink calls.
3. freshness  100 missing parts read, sandbox latency 100 ms: time until each is fresh.
4. drain      2,000 stale parts queued, sandbox latency 50 ms, worker concurrency 8:
              messages per second, against the ideal (concurrency / latency), and database
              time per message.

BrickLink's pace limit (1 call a second) is lifted for these runs (the test settings): they
measure the system, not the quota. ``wrk`` comes from Debian (``make bench-deps``).

    .venv/bin/python bench/catalog.py [reads dedup freshness drain]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests
from common import median, percentile, prepare_database, setup_bench_django, write_results
from stack import gunicorn, sandbox, sandbox_env, workers

# Throttling stays on, with a one-second window: DRF keeps every request time of the
# window, and a per-minute window at benchmark rates would mean a 35,000-entry history.
API_ENV = {"API_THROTTLE_USER": "1000000/s", "API_THROTTLE_AUTH": "100000/min"}


def reset_database() -> None:
    from catalog.models import Part, PartColorList, PriceGuide, RefreshJob
    from ratelimit.models import Bucket, CircuitBreaker

    for model in (RefreshJob, Part, PartColorList, PriceGuide, Bucket, CircuitBreaker):
        model.objects.all().delete()
    from django.core.cache import caches

    caches["catalog"].clear()
    caches["default"].clear()


def api_token() -> str:
    from accounts.models import User
    from accounts.services import account_create, auth_token_get_or_create

    user = User.objects.filter(username="bench").first()
    if user is None:
        account_create(name="Bench", owner_username="bench", password="bench-password-1")
        user = User.objects.get(username="bench")
    return auth_token_get_or_create(user=user)


def wait_until_drained(timeout: float = 600) -> None:
    from catalog.models import RefreshJob

    deadline = time.monotonic() + timeout
    while RefreshJob.objects.filter(status__in=["pending", "inflight"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("refreshes did not finish in time")
        time.sleep(0.05)


# --- 1. reads ------------------------------------------------------------------------------------


def wrk(url: str, token: str | None, seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Token {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_second": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def bench_reads(seconds: int = 20, connections: int = 32, web_workers: int = 4) -> None:
    if not shutil.which("wrk"):
        raise SystemExit(
            "the read benchmark needs wrk: run `make bench-deps` (apt-get install wrk)"
        )
    from catalog.models import Part
    from core import clock

    reset_database()
    token = api_token()
    Part.objects.create(no="3001", name="Brick 2 x 4", category_id=5, last_fetched=clock.now())
    with gunicorn(workers=web_workers, env=API_ENV, settings_module="bench.settings") as url:
        api = f"{url}/api/v1/catalog/parts/3001/"
        bare = f"{url}/bench/bare/parts/3001/"
        body = requests.get(api, headers={"Authorization": f"Token {token}"}, timeout=5).json()
        assert body["status"] == "fresh", body
        wrk(api, token, 3, connections)  # warm the cache, the connections, the interpreters
        wrk(bare, None, 3, connections)
        ours = wrk(api, token, seconds, connections)
        floor = wrk(bare, None, seconds, connections)
    ratio = ours["requests_per_second"] / floor["requests_per_second"]
    print(
        f"API GET fresh part: {ours['requests_per_second']:.0f} req/s, p50 {ours['p50_ms']:.2f} "
        f"ms, p99 {ours['p99_ms']:.2f} ms\nbare view, same SELECT: "
        f"{floor['requests_per_second']:.0f} req/s, p50 {floor['p50_ms']:.2f} ms, p99 "
        f"{floor['p99_ms']:.2f} ms\nratio API/bare: {ratio:.3f}"
    )
    write_results(
        "catalog_reads",
        {
            "setup": f"gunicorn {web_workers} sync workers, PostgreSQL + Redis on this machine, "
            f"wrk -t2 -c{connections} -d{seconds}s on the same 2 cores",
            "api": ours,
            "bare_view": floor,
            "ratio_api_to_bare": round(ratio, 3),
        },
    )


# --- 2. dedup ------------------------------------------------------------------------------------


def bench_dedup(requests_total: int = 500, parts: int = 10, latency_ms: int = 8_000) -> None:
    from catalog.models import RefreshJob

    reset_database()
    token = api_token()
    numbers = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023", "3024", "3069b"]
    numbers = numbers[:parts]
    # BrickLink answers slowly, so every request arrives while its refresh is still queued or
    # in flight: that is when deduplication has to hold. (Once a refresh has finished, a new
    # request rightly starts a new one: with 3 s the 4.5 s burst made 18 rows, 10 + 8; and
    # 10 s meets the client's 10 s read timeout, so some calls time out and are retried.)
    with sandbox(latency={"fixed_ms": latency_ms, "random_ms": 0}) as server:
        env = {**sandbox_env(server), **API_ENV}
        with (
            workers(concurrency=8, env=env),
            gunicorn(workers=4, env=env, settings_module="bench.settings") as url,
        ):
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=requests_total)
            session.mount("http://", adapter)
            targets = [numbers[n % len(numbers)] for n in range(requests_total)]

            def refresh(no: str) -> int:
                response = session.post(f"{url}/api/v1/catalog/parts/{no}/refresh/", timeout=60)
                return response.status_code

            started = time.monotonic()
            with ThreadPoolExecutor(requests_total) as pool:
                statuses = list(pool.map(refresh, targets))
            answered = time.monotonic() - started
            rows = RefreshJob.objects.count()
            wait_until_drained()
            calls = server.calls()["by_endpoint"].get("GET /bricklink/items/{type}/{no}", 0)
    queued = sum(1 for status in statuses if status == 202)
    print(
        f"{requests_total} concurrent refresh requests over {parts} parts: {queued} answered "
        f"202 in {answered:.2f} s -> {rows} outbox rows, {calls} BrickLink calls"
    )
    write_results(
        "catalog_dedup",
        {
            "requests": requests_total,
            "parts": parts,
            "answered_202": queued,
            "seconds_to_answer_all": round(answered, 2),
            "outbox_rows": rows,
            "bricklink_calls": calls,
            "sandbox_latency_ms": latency_ms,
        },
    )


# --- 3. freshness latency ------------------------------------------------------------------------


def bench_freshness(count: int = 100) -> None:
    from catalog.models import Part
    from marketplaces.sandbox.catalog import build_catalog

    reset_database()
    token = api_token()
    numbers = [item.no for item in build_catalog(1).parts() if item.type == "PART"][:count]
    with sandbox(latency={"fixed_ms": 100, "random_ms": 0}) as server:
        env = {**sandbox_env(server), **API_ENV}
        with (
            workers(concurrency=8, env=env),
            gunicorn(workers=4, env=env, settings_module="bench.settings") as url,
        ):
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=count))
            asked: dict[str, float] = {}

            def read(no: str) -> None:
                body = session.get(f"{url}/api/v1/catalog/parts/{no}/", timeout=30).json()
                assert body["status"] == "missing", body
                asked[no] = time.time()

            with ThreadPoolExecutor(count) as pool:
                list(pool.map(read, numbers))
            wait_until_drained()
            landed = dict(Part.objects.filter(no__in=numbers).values_list("no", "last_fetched"))
    latencies = sorted((landed[no].timestamp() - asked[no]) * 1000 for no in numbers)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"{count} missing parts read at once, sandbox latency 100 ms, 8 worker processes: "
        f"fresh after p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms"
    )
    write_results(
        "catalog_freshness",
        {
            "parts": count,
            "sandbox_latency_ms": 100,
            "worker_concurrency": 8,
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "max_ms": round(latencies[-1], 1),
            "measured_from": "the read's answer (refresh already queued) to the upsert's commit",
        },
    )


# --- 4. drain ------------------------------------------------------------------------------------


def bench_drain(count: int = 2000, concurrency: int = 8, latency_ms: int = 50) -> None:
    from catalog.models import Part, Priority, RefreshJob
    from catalog.services import Resource, refresh_drain, refresh_enqueue_many
    from core import clock
    from marketplaces.sandbox.catalog import build_catalog

    reset_database()
    parts_in_sandbox = 2600
    numbers = [i.no for i in build_catalog(1, parts_in_sandbox).parts() if i.type == "PART"]
    numbers = numbers[:count]
    assert len(numbers) == count, len(numbers)
    stale = clock.now() - timedelta(days=40)
    Part.objects.bulk_create([Part(no=no, name=f"part {no}", last_fetched=stale) for no in numbers])
    created, _ = refresh_enqueue_many(
        resources=[Resource("part", no) for no in numbers], priority=Priority.NORMAL
    )
    assert len(created) == count
    times = Path(tempfile.mkstemp(prefix="brickops-db-times-")[1])
    from tests.harness import SandboxProcess

    server = SandboxProcess(args=("--parts", str(parts_in_sandbox))).start()
    try:
        server.control(
            bricklink_max_in_flight=64,
            bricklink_quota=10**9,
            latency={"fixed_ms": latency_ms, "random_ms": 0},
        )
        env = {**sandbox_env(server), "BENCH_DB_TIMES": str(times)}
        with workers(concurrency=concurrency, env=env, app="bench.worker_app"):
            started = time.monotonic()
            run = refresh_drain(batch_size=count)
            wait_until_drained()
            elapsed = time.monotonic() - started
        calls = server.calls()["by_endpoint"].get("GET /bricklink/items/{type}/{no}", 0)
    finally:
        server.stop()
    succeeded = RefreshJob.objects.filter(status="succeeded").count()
    lines = [line.split() for line in times.read_text().splitlines()]
    times.unlink()
    db_ms = [float(seconds) * 1000 for seconds, outcome in lines if outcome == "succeeded"]
    rate = count / elapsed
    ideal = concurrency / (latency_ms / 1000)
    print(
        f"drain of {count} stale parts, worker concurrency {concurrency}, sandbox latency "
        f"{latency_ms} ms: {elapsed:.1f} s, {rate:.1f} messages/s; ideal {ideal:.0f}/s -> "
        f"{rate / ideal:.2f} of ideal; {succeeded} succeeded, {calls} BrickLink calls; "
        f"database time per message: median {median(db_ms):.1f} ms, p95 "
        f"{percentile(db_ms, 95):.1f} ms; the drain itself took {run.duration_ms} ms"
    )
    write_results(
        "catalog_drain",
        {
            "messages": count,
            "worker_concurrency": concurrency,
            "sandbox_latency_ms": latency_ms,
            "seconds": round(elapsed, 2),
            "messages_per_second": round(rate, 1),
            "ideal_messages_per_second": ideal,
            "ratio_to_ideal": round(rate / ideal, 3),
            "succeeded": succeeded,
            "bricklink_calls": calls,
            "db_ms_per_message_median": round(median(db_ms), 2),
            "db_ms_per_message_p95": round(percentile(db_ms, 95), 2),
            "drain_pass_ms": run.duration_ms,
        },
    )


BENCHMARKS = {
    "reads": bench_reads,
    "dedup": bench_dedup,
    "freshness": bench_freshness,
    "drain": bench_drain,
}


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    setup_bench_django()
    prepare_database()
    for name in chosen:
        print(f"\n== {name} ==")
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
