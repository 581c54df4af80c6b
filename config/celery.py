import os

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("brickops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _renew_leases(**kwargs):
    """A pool process keeps the leases of the work it holds alive while it lives."""
    from outbox.leases import heartbeat_enable

    heartbeat_enable()


@worker_init.connect
def _renew_leases_in_process(sender=None, **kwargs):
    """The solo and thread pools run tasks in the worker's own process."""
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")):
        from outbox.leases import heartbeat_enable

        heartbeat_enable()


@worker_process_shutdown.connect
def _metrics_process_exited(pid=None, **kwargs):
    """A pool process is going away: tidy its per-process metrics (its counters stay)."""
    from core.exporter import process_exited

    process_exited(pid or os.getpid())
