"""Refreshes as a kind of outbox work (outbox/claims.py): their table, their states, and how
the workers are told about one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q

from outbox.claims import Work
from outbox.publish import send

from .models import JobStatus, Priority, RefreshJob


def publish_refresh(job_id: int, priority: int, countdown: float | None = None) -> None:
    """Tell the workers to look at refresh ``job_id``: HIGH ones on the urgent queue."""
    from .tasks import process_refresh

    queue = "urgent" if priority >= Priority.HIGH else "default"
    send(process_refresh, [job_id], queue=queue, countdown=countdown, what=f"refresh #{job_id}")


def publish_refreshes(job_ids: Iterable[int], priority: int) -> None:
    for job_id in job_ids:
        publish_refresh(job_id, priority)


def _failed(now: datetime) -> Mapping[str, Any]:
    # A price guide given up keeps none of its parts: a retry starts afresh.
    return {"status": JobStatus.FAILED, "processed_at": now, "partial": None}


REFRESHES = Work(
    kind="refresh",
    model=RefreshJob,
    active=Q(status=JobStatus.PENDING),
    claimable=Q(status=JobStatus.PENDING),
    running={"status": JobStatus.INFLIGHT},
    waiting={"status": JobStatus.PENDING, "drain_run": None},
    failed=_failed,
    # Looked up when called, so a test can stand in for the broker.
    hint=lambda row, countdown: publish_refresh(row["pk"], row["priority"], countdown=countdown),
    hint_fields=("priority",),
    # NORMAL and LOW refreshes never sent wait for the drain, which paces them.
    sweep_sends_unsent=False,
)
