from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.db.models import F
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.schedules import RETIRED, project_schedules

from . import clock
from .models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Count one beat for ``hostname``; concurrent beats of one host are all counted."""
    now = clock.now()
    beats = WorkerHeartbeat.objects.filter(hostname=hostname)
    if not beats.update(seen_at=now, beats=F("beats") + 1):
        try:
            with transaction.atomic():
                return WorkerHeartbeat.objects.create(hostname=hostname, seen_at=now, beats=1)
        except IntegrityError:
            # Another process created the row between our update and our insert.
            beats.update(seen_at=now, beats=F("beats") + 1)
    return beats.get()


def periodic_schedules_sync(*, reset: bool = False) -> list[tuple[str, bool]]:
    """Write :func:`config.schedules.project_schedules` to django-celery-beat's tables.

    What identifies a schedule's job (task, queue, arguments) is always brought up to date;
    when it runs and whether it is enabled are set on creation only (or with ``reset``), so
    an operator's edits in the admin and beat's ``last_run_at`` survive every deploy.
    """
    results: list[tuple[str, bool]] = []
    with transaction.atomic():
        PeriodicTask.objects.filter(name__in=RETIRED).delete()
        for schedule in project_schedules():
            timing: dict = {"interval": None, "crontab": None}
            # Schedules are not unique in django-celery-beat (the admin can make twins):
            # reuse the first match rather than get_or_create, which would raise.
            if schedule.every_seconds is not None:
                fields = {"every": schedule.every_seconds, "period": IntervalSchedule.SECONDS}
                timing["interval"] = IntervalSchedule.objects.filter(
                    **fields
                ).first() or IntervalSchedule.objects.create(**fields)
            else:
                fields = {"timezone": "UTC", **(schedule.crontab or {})}
                timing["crontab"] = CrontabSchedule.objects.filter(
                    **fields
                ).first() or CrontabSchedule.objects.create(**fields)
            identity = {
                "task": schedule.task,
                "queue": schedule.queue,
                "kwargs": json.dumps(schedule.kwargs),
                "description": schedule.description,
            }
            on_create = {**identity, **timing, "enabled": True}
            _, created = PeriodicTask.objects.update_or_create(
                name=schedule.name,
                defaults=on_create if reset else identity,
                create_defaults=on_create,
            )
            results.append((schedule.name, created))
    return results
