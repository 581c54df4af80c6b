from celery import shared_task

from .services import worker_heartbeat_record


@shared_task(name="core.heartbeat", bind=True)
def heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or "unknown")
