"""Shortcuts shared by the refresh outbox tests (tests/catalog/test_refresh_*.py)."""

from catalog.domain import Resource
from catalog.models import Kind, Priority, RefreshJob
from catalog.services import refresh_enqueue
from core import clock

PART = Resource(Kind.PART, "3001")


def enqueue(resource=PART, priority=Priority.HIGH):
    return refresh_enqueue(resource=resource, priority=priority)


def job(result) -> RefreshJob:
    return RefreshJob.objects.get(pk=result.job_id)


def make_due(job_id):
    RefreshJob.objects.filter(pk=job_id).update(next_attempt_at=clock.now())
