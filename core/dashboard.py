"""What the queue dashboard shows: every kind of background work (refreshes, inventory syncs...),
the refresh outbox in detail, the quota, the breakers, the drain and the inventory syncs per
marketplace. Every figure comes from a selector /metrics reads too (outbox/selectors.py,
catalog/selectors.py, ratelimit/selectors.py), so the two agree; each query is one GROUP BY
pass or an index range, never a row-by-row walk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog.models import DrainRun, JobStatus
from catalog.selectors import (
    breaker_list,
    drain_last_finished_at,
    drain_run_list,
    refresh_finished_count,
    refresh_oldest_pending_at,
)
from catalog.work import REFRESHES
from core import clock
from inventory.work import SYNCS
from outbox.selectors import WorkFigures, overdue_before, work_overview
from ratelimit.models import CircuitBreaker
from ratelimit.selectors import LimitStatus, rate_limit_status

# overdue_before: the refresh outbox's "overdue" filter (catalog/admin.py) reads it here.
__all__ = ["QueueOverview", "overdue_before", "queue_overview", "seconds_since"]


@dataclass(frozen=True)
class QueueOverview:
    now: datetime
    work: dict[str, WorkFigures]  # kind of work -> its figures, every kind registered
    statuses: list[str]
    kinds: list[str]
    counts: dict[str, dict[str, int]]  # refresh kind -> status -> rows (kinds with rows)
    totals: dict[str, int]  # status -> refreshes
    oldest_pending_seconds: float | None
    overdue: int
    succeeded_last_hour: int
    failed_last_day: int
    limits: list[LimitStatus]
    breakers: list[CircuitBreaker]
    drain_runs: list[DrainRun]
    seconds_since_drain: float | None
    syncs: dict[str, dict[str, int]]  # provider -> status -> states


def seconds_since(now: datetime, then: datetime | None) -> float | None:
    return (now - then).total_seconds() if then else None


def queue_overview(*, drain_runs: int = 10) -> QueueOverview:
    now = clock.now()
    # Refreshes split by their kind (part, part_colors, price_guide), syncs by marketplace.
    work = work_overview(now=now, split_by={REFRESHES.kind: "kind", SYNCS.kind: "provider"})
    refreshes = work[REFRESHES.kind]
    return QueueOverview(
        now=now,
        work=work,
        statuses=list(refreshes.statuses),
        kinds=sorted(refreshes.split),
        counts=dict(sorted(refreshes.split.items())),
        totals=refreshes.statuses,
        oldest_pending_seconds=seconds_since(now, refresh_oldest_pending_at()),
        overdue=refreshes.overdue,
        succeeded_last_hour=refresh_finished_count(
            status=JobStatus.SUCCEEDED, since=now - timedelta(hours=1)
        ),
        failed_last_day=refresh_finished_count(
            status=JobStatus.FAILED, since=now - timedelta(days=1)
        ),
        limits=rate_limit_status(),
        breakers=breaker_list(),
        drain_runs=drain_run_list(limit=drain_runs),
        seconds_since_drain=seconds_since(now, drain_last_finished_at()),
        syncs=dict(sorted(work[SYNCS.kind].split.items())),
    )
