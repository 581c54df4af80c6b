"""What the queue dashboard shows: the refresh outbox, the quota, the breakers, the drain and the
inventory syncs, read in a handful of aggregate queries (fast on a million outbox rows: each
query is a GROUP BY or an index range, never a row-by-row walk)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min

from catalog.models import DrainRun, JobStatus, RefreshJob
from core import clock
from inventory.models import SyncState, SyncStatus
from ratelimit.models import CircuitBreaker
from ratelimit.selectors import LimitStatus, rate_limit_status


@dataclass(frozen=True)
class QueueOverview:
    now: datetime
    statuses: list[str]
    kinds: list[str]
    counts: dict[str, dict[str, int]]  # kind -> status -> rows
    totals: dict[str, int]  # status -> rows
    oldest_pending_seconds: float | None
    overdue: int
    succeeded_last_hour: int
    failed_last_day: int
    limits: list[LimitStatus]
    breakers: list[CircuitBreaker]
    drain_runs: list[DrainRun]
    seconds_since_drain: float | None
    syncs: dict[str, dict[str, int]]  # provider -> status -> states


def overdue_before(now: datetime) -> datetime:
    """A pending row due before this has waited too long for a worker."""
    return now - timedelta(minutes=5)


def queue_overview(*, drain_runs: int = 10) -> QueueOverview:
    now = clock.now()
    statuses = [status.value for status in JobStatus]
    counts: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(statuses, 0)
    by_kind = RefreshJob.objects.order_by().values_list("kind", "status").annotate(n=Count("id"))
    for kind, status, n in by_kind:
        counts.setdefault(kind, dict.fromkeys(statuses, 0))[status] = n
        totals[status] += n
    pending = RefreshJob.objects.filter(status=JobStatus.PENDING)
    oldest = pending.aggregate(at=Min("created_at"))["at"]
    finished = RefreshJob.objects.filter(processed_at__gte=now - timedelta(days=1))
    syncs: dict[str, dict[str, int]] = {}
    for provider, status, n in (
        SyncState.objects.order_by().values_list("provider", "status").annotate(n=Count("id"))
    ):
        syncs.setdefault(provider, dict.fromkeys(SyncStatus.values, 0))[status] = n
    runs = list(DrainRun.objects.order_by("-started_at")[:drain_runs])
    last_finished = next((run.finished_at for run in runs if run.finished_at), None)
    return QueueOverview(
        now=now,
        statuses=statuses,
        kinds=sorted(counts),
        counts=counts,
        totals=totals,
        oldest_pending_seconds=(now - oldest).total_seconds() if oldest else None,
        overdue=pending.filter(next_attempt_at__lt=overdue_before(now)).count(),
        succeeded_last_hour=finished.filter(
            status=JobStatus.SUCCEEDED, processed_at__gte=now - timedelta(hours=1)
        ).count(),
        failed_last_day=finished.filter(status=JobStatus.FAILED).count(),
        limits=rate_limit_status(),
        breakers=list(CircuitBreaker.objects.order_by("name")),
        drain_runs=runs,
        seconds_since_drain=(now - last_finished).total_seconds() if last_finished else None,
        syncs=syncs,
    )
