from celery import shared_task

from .sweep import outbox_sweep


@shared_task(name="outbox.sweep", ignore_result=True)
def sweep() -> dict[str, tuple[int, int]]:
    return outbox_sweep()
