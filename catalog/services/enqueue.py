"""Asking for refreshes: one row per resource while a refresh is pending or in flight.

A partial unique constraint keeps that true under any concurrency; asking again answers the
active row and raises its priority if the new request is more urgent. A row that is (or
becomes) HIGH is sent to the urgent queue once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Least

from catalog import work
from catalog.domain import Resource, read_cache_key
from catalog.models import ACTIVE_STATUSES, JobStatus, Priority, RefreshJob
from core import clock


@dataclass(frozen=True)
class EnqueueResult:
    """The row that answers a request for a refresh: made now (``created``) or already
    active."""

    job_id: int
    created: bool
    status: str
    priority: int


def forget_cached(keys: Iterable[str]) -> None:
    """Drop cached envelopes once the transaction commits (their data is about to change)."""
    keys = list(keys)
    transaction.on_commit(lambda: caches["catalog"].delete_many(keys))


def _db(field: str, value: Any) -> Any:
    """A value for raw SQL, adapted as the ORM would (SQLite keeps datetimes as naive UTC
    text; PostgreSQL takes them as they are)."""
    return RefreshJob._meta.get_field(field).get_db_prep_value(value, connection)


INSERT_COLUMNS = (
    "kind",
    "no",
    "color_id",
    "resource",
    "priority",
    "status",
    "attempts",
    "deferrals",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "dispatched_at",
)


def _insert_jobs(resources: list[Resource], priority: int, now: datetime) -> dict[str, int]:
    """INSERT the rows that do not collide with an active refresh; answers resource -> id of
    the rows this statement created. One statement: ``ON CONFLICT DO NOTHING`` lets the partial
    unique constraint decide, under any concurrency (the ORM cannot say this)."""
    if not resources:
        return {}
    at = _db("created_at", now)
    # A HIGH row is sent to the workers as this commits; the others wait for the drain.
    sent = at if priority >= Priority.HIGH else None
    params: list[Any] = []
    for resource in resources:
        key = resource.key
        params += [resource.kind, resource.no, resource.color_id, key, priority]
        params += [JobStatus.PENDING, 0, 0, at, at, at, sent]
    row = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"
    values = ", ".join([row] * len(resources))
    sql = (
        f"INSERT INTO {RefreshJob._meta.db_table} ({', '.join(INSERT_COLUMNS)}) "  # noqa: S608
        f"VALUES {values} ON CONFLICT DO NOTHING RETURNING id, resource"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: job_id for job_id, key in cursor.fetchall()}


def refresh_enqueue_many(
    *, resources: Iterable[Resource], priority: int, drop_cached: bool = True
) -> tuple[dict[str, int], dict[str, int]]:
    """Enqueue refreshes; answers (created resource -> id, already active resource -> id).

    An active row that is less urgent is raised to ``priority``; a row that becomes HIGH (or
    is created HIGH) is sent to the urgent queue after commit. ``drop_cached=False``: the
    caller knows the resources have no data (nothing of theirs is cached), so their cached
    envelopes are not dropped -- and a NORMAL or LOW enqueue then leaves no after-commit work.
    """
    unique = list({resource.key: resource for resource in resources}.values())
    now = clock.now()
    with transaction.atomic():
        created = _insert_jobs(unique, priority, now)
        existing = dict(
            RefreshJob.objects.filter(
                resource__in=[r.key for r in unique if r.key not in created],
                status__in=ACTIVE_STATUSES,
            ).values_list("resource", "id")
        )
        raised = _raise_priority(list(existing.values()), priority, now)
        if drop_cached:
            forget_cached(read_cache_key(r) for r in unique)
        if priority == Priority.HIGH:
            urgent = [*created.values(), *raised]
            transaction.on_commit(lambda: work.publish_refreshes(urgent, Priority.HIGH))
    return created, existing


def refresh_enqueue(*, resource: Resource, priority: int) -> EnqueueResult:
    """Enqueue one refresh (or find the active one). See :func:`refresh_enqueue_many`."""
    for _ in range(3):
        created, existing = refresh_enqueue_many(resources=[resource], priority=priority)
        job_id = created.get(resource.key) or existing.get(resource.key)
        if job_id is None:
            continue  # the active row finished between our insert and our read: insert again
        job = RefreshJob.objects.values("status", "priority").get(pk=job_id)
        return EnqueueResult(job_id, resource.key in created, job["status"], job["priority"])
    raise RuntimeError(f"could not enqueue {resource.key}")


def _raise_priority(job_ids: list[int], priority: int, now: datetime) -> list[int]:
    """Raise the pending ones of ``job_ids`` that are less urgent than ``priority``."""
    if not job_ids:
        return []
    to_raise = RefreshJob.objects.filter(
        id__in=job_ids, status=JobStatus.PENDING, priority__lt=priority
    )
    raised = list(to_raise.values_list("id", flat=True))
    changes: dict[str, Any] = {"priority": priority, "updated_at": now}
    if priority == Priority.HIGH:  # a user is waiting: do not sit out a backoff
        changes["next_attempt_at"] = Least(F("next_attempt_at"), now)
        changes["dispatched_at"] = now
    RefreshJob.objects.filter(id__in=raised).update(**changes)
    return raised


def refresh_raise_to_high(*, job_ids: Iterable[int]) -> int:
    """Raise these pending rows to HIGH (and out of any backoff) and send them to the urgent
    queue; answers how many moved. Never creates a row."""
    with transaction.atomic():
        raised = _raise_priority(list(job_ids), Priority.HIGH, clock.now())
        if raised:
            transaction.on_commit(lambda: work.publish_refreshes(raised, Priority.HIGH))
    return len(raised)


def refresh_hurry(*, resource: Resource) -> bool:
    """A reader needs ``resource`` now: raise its active refresh, if any, to HIGH (if the
    refresh finished meanwhile, its data is what the next read gets)."""
    active = RefreshJob.objects.filter(resource=resource.key, status__in=ACTIVE_STATUSES)
    return bool(refresh_raise_to_high(job_ids=active.values_list("id", flat=True)))
