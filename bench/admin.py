"""The admin's outbox list and queue dashboard on a million refresh rows.

    .venv/bin/python bench/admin.py [--rows 1000000]

Fills the bench database's outbox with ``--rows`` rows (90 % succeeded, 5 % failed with an
error, 4 % pending, 1 % in flight, over 60 days) in one INSERT … SELECT generate_series, runs
ANALYZE, then times each page through Django's test client as a logged-in superuser (the same
view code gunicorn runs; no network in the figure) and counts its SQL queries.
"""

from __future__ import annotations

import argparse
import time

from common import median, percentile, prepare_database, setup_bench_django, write_results

PAGES = {
    "outbox, unfiltered": "/admin/catalog/refreshjob/",
    "outbox, status=failed": "/admin/catalog/refreshjob/?status__exact=failed",
    "outbox, overdue": "/admin/catalog/refreshjob/?overdue=yes",
    "outbox, has error, kind=part": "/admin/catalog/refreshjob/?has_error=yes&kind__exact=part",
    "outbox, search part number": "/admin/catalog/refreshjob/?q=3001",
    "outbox, page 500": "/admin/catalog/refreshjob/?p=500",
    "queue dashboard": "/admin/queue/",
}


def fill(rows: int) -> float:
    from django.db import connection

    from catalog.models import RefreshJob

    table = RefreshJob._meta.db_table
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
        # Finished rows share part numbers (3000-7999, as a real outbox repeats them); active
        # ones get their own (one active refresh per resource is a constraint).
        cursor.execute(
            f"""
            INSERT INTO {table} (kind, no, color_id, resource, priority, status, attempts,
                deferrals, next_attempt_at, last_error, created_at, updated_at, processed_at)
            SELECT k.kind, n.no, k.color_id,
                   k.kind || ':' || n.no || COALESCE(':' || k.color_id, ''),
                   (ARRAY[10, 20, 30])[1 + i %% 3], k.status,
                   CASE WHEN k.status = 'failed' THEN 6 ELSE 0 END, 0,
                   k.at, CASE WHEN k.status = 'failed' THEN %(error)s::jsonb END, k.at, k.at,
                   CASE WHEN k.status IN ('succeeded', 'failed') THEN k.at END
            FROM generate_series(1, %(rows)s) AS i,
            LATERAL (SELECT
                (ARRAY['part', 'part_colors', 'price_guide'])[1 + i %% 3] AS kind,
                CASE WHEN i %% 3 = 2 THEN i %% 200 END AS color_id,
                now() - (i %% 86400) * interval '1 minute' AS at,
                CASE WHEN i %% 100 < 90 THEN 'succeeded'
                     WHEN i %% 100 < 95 THEN 'failed'
                     WHEN i %% 100 < 99 THEN 'pending'
                     ELSE 'inflight' END AS status) AS k,
            LATERAL (SELECT CASE WHEN k.status IN ('pending', 'inflight') THEN 'p' || i
                                 ELSE (3000 + i %% 5000)::text END AS no) AS n
            """,
            {"rows": rows, "error": '{"code": "transient", "message": "HTTP 500"}'},
        )
        cursor.execute(f"ANALYZE {table}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    setup_bench_django()
    prepare_database()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    fill_seconds = fill(args.rows)
    print(f"{args.rows:,} outbox rows written in {fill_seconds:.1f} s")
    user = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", password="bench-admin-pw"
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    figures = {}
    for label, url in PAGES.items():
        client.get(url)  # warm
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        figures[label] = {
            "url": url,
            "p50_ms": round(median(times), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "queries": len(queries),
            "slowest_query_ms": round(max(float(q["time"]) for q in queries) * 1000, 1),
        }
        print(
            f"{label:32} p50 {figures[label]['p50_ms']:7.1f} ms  "
            f"p95 {figures[label]['p95_ms']:7.1f} ms  {len(queries)} queries"
        )
    write_results("admin", {"rows": args.rows, "repeat": args.repeat, "pages": figures})


if __name__ == "__main__":
    main()
