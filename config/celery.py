import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("brickops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def _metrics_process_exited(pid=None, **kwargs):
    """A pool process is going away: tidy its per-process metrics (its counters stay)."""
    from core.exporter import process_exited

    process_exited(pid or os.getpid())
