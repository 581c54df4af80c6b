"""The store takeover's Celery task (sent by takeover.services.publish_import)."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_WHEN_DATABASE_AWAY

from . import services


# A 50,000-lot store is read, planned and written in about a minute; the limits leave room.
@shared_task(
    name="takeover.run_import",
    ignore_result=True,
    soft_time_limit=900,
    time_limit=960,
    **RETRY_WHEN_DATABASE_AWAY,
)
def run_import(import_id: int) -> str:
    return services.import_run(import_id=import_id)


@shared_task(name="takeover.resend_lost", ignore_result=True)
def resend_lost() -> int:
    from core import clock

    return services.imports_resend(clock.now())
