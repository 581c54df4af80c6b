"""/metrics: the gauges read from the database at scrape time -- every kind of background work,
the refresh outbox, the rate limits, the breakers, the drain -- and that they agree with the
admin's queue dashboard.

The other topics are beside it: test_metrics_worker.py (end to end, with a real worker),
test_metrics_files.py (multiprocess files), test_metrics_labels.py (labels and access),
test_metrics_alerts.py (alert rules). They parse a scrape with :func:`scrape` from here.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import OperationalError
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import DrainRun, JobStatus, Kind, RefreshJob
from core import clock
from core.metrics import REFRESHES
from inventory.models import SyncStatus
from outbox.sweep import registered_work
from ratelimit.models import CircuitBreaker
from ratelimit.services import rate_limit_take
from tests.factories import SyncStateFactory


class Scrape:
    """One answer of /metrics, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for family in self.families.values() for s in family.samples]

    def get(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
            for s in self.samples
        )

    def names(self) -> set[str]:
        return set(self.families) | {s.name for s in self.samples}


def scrape(client, **headers) -> Scrape:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return Scrape(response.content.decode())


# --- database gauges -----------------------------------------------------------------------------


def job(
    kind: str,
    no: str,
    status: str,
    age: timedelta,
    color_id: int | None = None,
    *,
    due_in: timedelta = timedelta(0),
    **fields,
):
    now = clock.now()
    resource = ":".join(str(p) for p in (kind, no, color_id) if p is not None)
    return RefreshJob.objects.create(
        kind=kind,
        no=no,
        color_id=color_id,
        resource=resource,
        status=status,
        next_attempt_at=now + due_in,
        created_at=now - age,
        updated_at=now,
        **fields,
    )


def test_database_gauges_are_read_from_the_rows_at_scrape_time(client, db, fake_clock):
    job(Kind.PART, "1", JobStatus.PENDING, timedelta(minutes=10))
    job(Kind.PART, "2", JobStatus.PENDING, timedelta(minutes=2))
    job(Kind.PART_COLORS, "3", JobStatus.INFLIGHT, timedelta(minutes=30))
    job(Kind.PRICE_GUIDE, "4", JobStatus.SUCCEEDED, timedelta(hours=1), color_id=11)
    job(Kind.PART, "5", JobStatus.FAILED, timedelta(hours=2))
    now = fake_clock()
    DrainRun.objects.create(
        started_at=now - timedelta(seconds=130), finished_at=now - timedelta(seconds=120)
    )
    DrainRun.objects.create(started_at=now - timedelta(seconds=30))  # still running
    CircuitBreaker.objects.create(name="bricklink", state="open", updated_at=now)
    CircuitBreaker.objects.create(name="brickowl", state="half_open", updated_at=now)
    assert rate_limit_take(names="bricklink:global", count=3).granted
    assert rate_limit_take(names=[("bricklink:account", "1")], count=5).granted
    assert rate_limit_take(names=[("bricklink:account", "2")], count=2).granted

    metrics = scrape(client)

    assert metrics.get("brickops_metrics_database_up") == 1
    outbox = "brickops_outbox_messages"
    assert metrics.get(outbox, kind="part", status="pending") == 2
    assert metrics.get(outbox, kind="part_colors", status="inflight") == 1
    assert metrics.get(outbox, kind="price_guide", status="succeeded") == 1
    assert metrics.get(outbox, kind="part", status="failed") == 1
    # Every kind and status is there, zeros included, so rules never meet a missing series.
    assert metrics.has(outbox, kind="price_guide", status="pending")
    assert metrics.get(outbox, kind="price_guide", status="pending") == 0
    assert len([s for s in metrics.samples if s.name == outbox]) == len(Kind) * len(JobStatus)
    assert metrics.get("brickops_outbox_oldest_pending_age_seconds") == 600
    assert metrics.get("brickops_drain_last_finished_age_seconds") == 120
    assert metrics.get("brickops_circuit_breaker_state", breaker="bricklink") == 2
    assert metrics.get("brickops_circuit_breaker_state", breaker="brickowl") == 1

    def limit(name: str, rule: str, kind: str) -> tuple[float, float]:
        labels = {"limit": name, "rule": rule, "kind": kind}
        return (
            metrics.get("brickops_ratelimit_remaining", **labels),
            metrics.get("brickops_ratelimit_capacity", **labels),
        )

    assert limit("bricklink:global", "0", "fixed_window") == (99_997, 100_000)
    assert limit("bricklink:global", "1", "token_bucket") == (997, 1000)  # the clock stands
    # Kept per account: the account with the least left.
    assert limit("bricklink:account", "0", "fixed_window") == (99_995, 100_000)
    # Never used: full.
    background = 3000  # 60 % of 5,000 (base settings)
    assert limit("bricklink:background", "0", "fixed_window") == (background, background)


def test_database_gauges_without_rows_and_when_the_database_fails(client, db, monkeypatch):
    metrics = scrape(client)
    assert metrics.get("brickops_circuit_breaker_state", breaker="bricklink") == 0  # never opened
    assert metrics.get("brickops_outbox_oldest_pending_age_seconds") == 0
    assert "brickops_drain_last_finished_age_seconds" in metrics.families  # declared...
    assert not metrics.has("brickops_drain_last_finished_age_seconds")  # ...but no sample yet
    for work in ("refresh", "inventory_sync"):  # every kind: zeros, never a missing series
        assert metrics.has("brickops_work_rows", work=work, status="failed")
        assert metrics.get("brickops_work_rows", work=work) == 0
        assert metrics.has("brickops_work_oldest_due_age_seconds", work=work)
        assert metrics.get("brickops_work_oldest_due_age_seconds", work=work) == 0

    from core.exporter import DatabaseCollector

    def down(self, *args):
        raise OperationalError("connection refused")

    REFRESHES.labels(kind="part", outcome="succeeded").inc(0)  # a process series exists
    monkeypatch.setattr(DatabaseCollector, "_outbox", down)
    metrics = scrape(client)  # still answers, with the process series
    assert metrics.get("brickops_metrics_database_up") == 0
    assert metrics.has("brickops_refreshes_total", kind="part", outcome="succeeded")
    assert not metrics.has("brickops_outbox_messages")
    assert not metrics.has("brickops_work_rows")


# --- every kind of background work ---------------------------------------------------------------

WORK_SERIES = (
    "brickops_work_due_rows",
    "brickops_work_overdue_rows",
    "brickops_work_oldest_due_age_seconds",
    "brickops_work_in_flight_rows",
    "brickops_work_lease_expired_rows",
)


def some_work(now) -> None:
    """Syncs and refreshes in every situation the gauges tell apart."""

    def sync(status, *, due_ago=None, provider="bricklink", **fields):
        due = None if due_ago is None else now - due_ago
        SyncStateFactory(status=status, provider=provider, next_attempt_at=due, **fields)

    def held(lease: timedelta) -> dict:
        return {"claim_token": uuid.uuid4(), "lease_expires_at": now + lease}

    sync(SyncStatus.SYNCING, due_ago=timedelta(minutes=12))  # overdue: the oldest
    sync(SyncStatus.SYNCING, due_ago=timedelta(minutes=1), provider="brickowl")  # due
    sync(SyncStatus.SYNCING, due_ago=-timedelta(minutes=3))  # backing off: not due yet
    sync(SyncStatus.SYNCING, due_ago=timedelta(minutes=20), **held(timedelta(seconds=30)))
    sync(SyncStatus.SYNCING, due_ago=timedelta(minutes=20), **held(-timedelta(seconds=5)))
    sync(SyncStatus.SYNCED)
    sync(SyncStatus.FAILED, provider="brickowl")
    sync(SyncStatus.DISABLED, provider="brickowl")
    job(Kind.PART, "1", JobStatus.PENDING, timedelta(minutes=9), due_in=-timedelta(minutes=7))
    job(Kind.PART_COLORS, "2", JobStatus.PENDING, timedelta(minutes=2))
    job(Kind.PART, "3", JobStatus.PENDING, timedelta(minutes=1), due_in=timedelta(minutes=4))
    job(Kind.PART, "4", JobStatus.INFLIGHT, timedelta(minutes=30), **held(timedelta(seconds=9)))
    job(Kind.PART, "5", JobStatus.SUCCEEDED, timedelta(hours=1))


def test_work_gauges_cover_every_kind_of_work_by_its_name(client, db, fake_clock):
    some_work(fake_clock())
    metrics = scrape(client)

    def figures(work: str) -> tuple[float, ...]:
        return tuple(metrics.get(name, work=work) for name in WORK_SERIES)

    rows = "brickops_work_rows"
    assert metrics.get(rows, work="inventory_sync", status="syncing") == 5
    assert metrics.get(rows, work="inventory_sync", status="pending") == 0
    assert metrics.get(rows, work="inventory_sync", status="failed") == 1
    assert metrics.get(rows, work="refresh", status="pending") == 3
    assert metrics.get(rows, work="refresh", status="failed") == 0
    # due, overdue, oldest due (12 min), in flight, lease ran out
    assert figures("inventory_sync") == (2, 1, 720, 2, 1)
    assert figures("refresh") == (2, 1, 420, 1, 0)
    # Labels from fixed sets: the kinds registered, and each kind's statuses, all of them.
    kinds = {work.kind for work in registered_work()}
    assert {"refresh", "inventory_sync"} <= kinds
    for name in (rows, *WORK_SERIES):
        assert {s.labels["work"] for s in metrics.samples if s.name == name} == kinds
    sync_statuses = {
        s.labels["status"]
        for s in metrics.samples
        if s.name == rows and s.labels["work"] == "inventory_sync"
    }
    assert sync_statuses == set(SyncStatus.values)  # zeros included
    # The refresh outbox's own series, by refresh kind, are still there beside them.
    assert metrics.get("brickops_outbox_messages", kind="part", status="pending") == 2
    assert metrics.get("brickops_outbox_messages", status="pending") == 3
    assert metrics.get("brickops_outbox_oldest_pending_age_seconds") == 540


def test_the_dashboard_and_metrics_show_the_same_figures(admin_client, client, db, fake_clock):
    some_work(fake_clock())
    metrics = scrape(client)
    overview = admin_client.get(reverse("admin:queue_dashboard")).context["overview"]

    assert set(overview.work) == {work.kind for work in registered_work()}
    for kind, shown in overview.work.items():
        assert shown.statuses == {
            s.labels["status"]: s.value
            for s in metrics.samples
            if s.name == "brickops_work_rows" and s.labels["work"] == kind
        }
        exported = tuple(metrics.get(name, work=kind) for name in WORK_SERIES)
        oldest = shown.oldest_due_seconds or 0
        assert (shown.due, shown.overdue, oldest, shown.in_flight, shown.lease_expired) == exported
    for kind, row in overview.counts.items():
        for status, n in row.items():
            assert metrics.get("brickops_outbox_messages", kind=kind, status=status) == n
    assert overview.oldest_pending_seconds == metrics.get(
        "brickops_outbox_oldest_pending_age_seconds"
    )
