from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import worker_heartbeat_record

# A task whose database went away (a restart, a failover, a cut connection) is sent again after
# a short backoff instead of being dropped. Its row waits in PostgreSQL either way, but only the
# drain's redispatch (minutes) would send it again, and a restart drops every message the workers
# take while the database is down.
RETRY_WHEN_DATABASE_AWAY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="core.heartbeat", bind=True)
def heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or "unknown")
