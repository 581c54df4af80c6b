"""The drain: every few minutes, send due refreshes to the workers, highest priority and
oldest first, a batch at a time -- the pace NORMAL and LOW refreshes go at. Rows of dead
workers are the sweep's (outbox/sweep.py); the drain takes them back too, before sending."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from catalog import work
from catalog.models import DrainRun, JobStatus, RefreshJob
from core import clock
from outbox.sweep import reclaim_expired


def refresh_reclaim_expired(*, now=None, send: bool = False) -> int:
    """Take back in-flight refreshes whose lease ran out; with ``send``, send them at once
    (else the drain calling this does). Answers how many."""
    return reclaim_expired(work.REFRESHES, now=now or clock.now(), send=send)


def refresh_drain(*, batch_size: int | None = None) -> DrainRun:
    """Take back expired leases, then send due pending rows to the workers (priority, then
    age), up to ``batch_size``. Rows are picked with ``SKIP LOCKED`` so drains running at once
    never send the same row; a sent row is sent again only if still pending much later."""
    started = clock.now()
    run = DrainRun.objects.create(started_at=started)
    run.reclaimed = refresh_reclaim_expired(now=started)
    batch = batch_size or settings.CATALOG_DRAIN_BATCH_SIZE
    resend_before = started - timedelta(seconds=work.REFRESHES.policy.redispatch_seconds)
    with transaction.atomic():
        due = list(
            RefreshJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.PENDING, next_attempt_at__lte=started)
            .exclude(dispatched_at__gte=resend_before)
            .order_by("-priority", "next_attempt_at", "id")
            .values_list("id", "priority")[:batch]
        )
        RefreshJob.objects.filter(id__in=[job_id for job_id, _ in due]).update(
            dispatched_at=started, drain_run=run
        )
    for job_id, priority in due:
        work.publish_refresh(job_id, priority)
    finished = clock.now()
    run.dispatched = len(due)
    run.finished_at = finished
    run.duration_ms = int((finished - started).total_seconds() * 1000)
    run.save()
    return run
