"""The store takeover's Celery task (sent by takeover.services.publish_import)."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_WHEN_DATABASE_AWAY

from . import services


@shared_task(name="takeover.run_import", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def run_import(import_id: int) -> str:
    return services.import_run(import_id=import_id)
