"""Operators' actions on refreshes (the admin's outbox page): retry now, mark failed. Raising
to HIGH is :func:`catalog.services.enqueue.refresh_raise_to_high`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from catalog import work
from catalog.models import ACTIVE_STATUSES, JobStatus, RefreshJob
from core import clock
from outbox.claims import error_record


def refresh_retry_now(*, job_ids: Iterable[int]) -> tuple[int, int]:
    """Run these rows now: a pending row skips its backoff, a failed or succeeded row becomes
    pending again with its attempts reset. A row whose resource already has another active
    refresh, or that is in flight, is left alone. Answers (retried, skipped)."""
    now = clock.now()
    ids = list(job_ids)
    retried: list[tuple[int, int]] = []
    for job in RefreshJob.objects.filter(id__in=ids).values("id", "status", "priority"):
        rows = RefreshJob.objects.filter(pk=job["id"], status=job["status"])
        if job["status"] == JobStatus.PENDING:
            changes: dict[str, Any] = {"next_attempt_at": now, "deferrals": 0, "dispatched_at": now}
        elif job["status"] in (JobStatus.FAILED, JobStatus.SUCCEEDED):
            changes = {
                "status": JobStatus.PENDING,
                "attempts": 0,
                "deferrals": 0,
                "next_attempt_at": now,
                "processed_at": None,
                "dispatched_at": now,
                "drain_run": None,
                "partial": None,
            }
        else:
            continue  # in flight: its worker holds it
        try:
            with transaction.atomic():
                updated = rows.update(**changes, updated_at=now)
        except IntegrityError:  # another refresh of the same resource is active
            continue
        if updated:
            retried.append((job["id"], job["priority"]))
    for job_id, priority in retried:
        transaction.on_commit(
            lambda job_id=job_id, priority=priority: work.publish_refresh(job_id, priority)
        )
    return len(retried), len(ids) - len(retried)


def refresh_mark_failed(*, job_ids: Iterable[int], by: str) -> int:
    """Give these pending or in-flight rows up. An in-flight row's worker is fenced out: its
    result is dropped when it finishes. Answers how many were marked."""
    now = clock.now()
    error = error_record(
        "marked_failed",
        f"marked failed by {by}",
        at=now,
        provider="brickops",
        http_status=None,
        meta_code=None,
    )
    return RefreshJob.objects.filter(id__in=list(job_ids), status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED,
        claim_token=None,
        lease_expires_at=None,
        last_error=error,
        processed_at=now,
        updated_at=now,
        partial=None,
    )
