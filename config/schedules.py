"""The project's periodic tasks. ``manage.py setup_schedules`` writes them to the database
(django-celery-beat's ``DatabaseScheduler``), creating what is missing without undoing what an
operator changed in the admin."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    description: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None  # minute, hour, day_of_week, day_of_month, month_of_year
    queue: str = "default"
    kwargs: dict = field(default_factory=dict)


# Schedules earlier versions wrote, removed by setup_schedules: their work moved elsewhere.
RETIRED = ("inventory: sync sweeper",)  # now part of "outbox: sweep"


def project_schedules() -> list[Schedule]:
    from django.conf import settings

    return [
        Schedule(
            name="core: worker heartbeat",
            task="core.heartbeat",
            description="Proves that beat and at least one worker are alive.",
            every_seconds=60,
        ),
        Schedule(
            name="catalog: drain the refresh outbox",
            task="catalog.drain",
            description="Reclaims refreshes whose worker died and sends due ones to workers.",
            every_seconds=settings.CATALOG_DRAIN_INTERVAL_SECONDS,
        ),
        Schedule(
            name="catalog: background freshness",
            task="catalog.enqueue_stale",
            description="Queues LOW refreshes of stale data within the background quota.",
            crontab={"minute": "7", "hour": "*"},
        ),
        Schedule(
            name="catalog: nightly cleanup",
            task="catalog.cleanup",
            description="Deletes finished refreshes older than 7 days, 1,000 at a time.",
            crontab={"minute": "0", "hour": "2"},
        ),
        Schedule(
            name="catalog: reference data",
            task="catalog.sync_reference",
            description="BrickLink's colors and categories, weekly.",
            crontab={"minute": "30", "hour": "3", "day_of_week": "1"},
        ),
        Schedule(
            name="outbox: sweep",
            task="outbox.sweep",
            description="Takes back refreshes and syncs whose worker died (their lease ran "
            "out), sends lost messages again and due syncs to workers.",
            every_seconds=settings.OUTBOX_SWEEP_SECONDS,
        ),
        Schedule(
            name="takeover: resend lost imports",
            task="takeover.resend_lost",
            description="Sends again the store takeovers still running whose message was "
            "lost (the broker was down, a worker was killed mid-run).",
            every_seconds=60,
        ),
        Schedule(
            name="orders: poll every store",
            task="orders.poll",
            description="Fetches new and changed orders from every enabled store (pushes "
            "from BrickLink and BrickOwl make it sooner, but may never come).",
            every_seconds=settings.ORDERS_POLL_SECONDS,
        ),
        Schedule(
            name="inventory: nightly reconciliation",
            task="inventory.reconcile_all",
            description="Lists every connected store and repairs drift from the items.",
            crontab={"minute": "0", "hour": "3"},
        ),
    ]
