"""How each kind of background work stands, read the same way for every kind registered
(:func:`outbox.sweep.registered_work`): its rows per status, the rows due and how long the
oldest has waited, the rows a worker holds and those whose worker is gone.

The admin's queue dashboard (core/dashboard.py) and /metrics (core/exporter.py) both read these,
so they never disagree. One query per kind, whatever its size: a single GROUP BY pass over its
table that counts every figure at once (a table of a million rows is read once, not once per
figure). A caller that wants the rows split by one more field (the refresh kind, the
marketplace) names it, and gets the split from that same pass.

Every kind's table has a ``status`` field with choices, ``next_attempt_at``, ``claim_token``,
``lease_expires_at`` and ``updated_at`` (what :mod:`outbox.claims` writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce

from core import clock

from .claims import Work
from .sweep import registered_work

# A row due longer than this and still not taken has waited too long for a worker (the sweep
# sends due rows every few seconds, the drain every five minutes).
OVERDUE_AFTER = timedelta(minutes=5)


def overdue_before(now: datetime) -> datetime:
    """A free row due before this has waited too long for a worker."""
    return now - OVERDUE_AFTER


@dataclass(frozen=True)
class WorkFigures:
    kind: str
    statuses: dict[str, int]  # every status of the kind's table, in its order, zeros included
    due: int  # free rows with work to do whose time has come
    overdue: int  # of those, due for more than OVERDUE_AFTER
    oldest_due_seconds: float | None  # how long the longest-waiting due row has waited; None: none
    in_flight: int  # rows a worker holds (a claim token is set)
    lease_expired: int  # of those, rows whose lease ran out: their worker is gone
    # With ``split_by``: that field's value -> status -> rows, for the values that have rows
    # (every status present).
    split: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def work_statuses(work: Work) -> list[str]:
    """Every status a row of ``work`` can be in, in the order its model declares them."""
    return [value for value, _ in work.model._meta.get_field("status").choices]


def work_figures(work: Work, *, now: datetime, split_by: str | None = None) -> WorkFigures:
    """How ``work`` stands at ``now``, in one query.

    A row is *due* when it has work to do (``work.active``), no worker holds it and its next
    attempt is not in the future; a row that never had a due time has been due since it last
    changed (a claim takes such a row at once). A row is *in flight* while it has a claim
    token, whether or not its lease ran out (the sweep takes those back)."""
    held = Q(claim_token__isnull=False)
    free = work.active & Q(claim_token__isnull=True)
    due = free & Q(due_since__lte=now)
    groups = ("status", split_by) if split_by else ("status",)
    rows = (
        work.model.objects.order_by()
        .annotate(due_since=Coalesce("next_attempt_at", "updated_at"))
        .values(*groups)
        .annotate(
            rows=Count("pk"),
            due=Count("pk", filter=due),
            overdue=Count("pk", filter=free & Q(due_since__lt=overdue_before(now))),
            oldest=Min("due_since", filter=due),
            in_flight=Count("pk", filter=held),
            lease_expired=Count("pk", filter=held & Q(lease_expires_at__lt=now)),
        )
    )
    statuses = dict.fromkeys(work_statuses(work), 0)
    split: dict[str, dict[str, int]] = {}
    totals = {"due": 0, "overdue": 0, "in_flight": 0, "lease_expired": 0}
    oldest: datetime | None = None
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + row["rows"]
        if split_by:
            value = str(row[split_by])
            split.setdefault(value, dict.fromkeys(statuses, 0))[row["status"]] = row["rows"]
        for figure in totals:
            totals[figure] += row[figure]
        if row["oldest"] is not None and (oldest is None or row["oldest"] < oldest):
            oldest = row["oldest"]
    return WorkFigures(
        kind=work.kind,
        statuses=statuses,
        oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else None,
        split=split,
        **totals,
    )


def work_overview(
    *, now: datetime | None = None, split_by: Mapping[str, str] | None = None
) -> dict[str, WorkFigures]:
    """:func:`work_figures` of every kind registered, by kind, in the order they registered;
    ``split_by`` names, per kind, the field to split its rows by."""
    now = now or clock.now()
    split_by = split_by or {}
    return {
        work.kind: work_figures(work, now=now, split_by=split_by.get(work.kind))
        for work in registered_work()
    }
