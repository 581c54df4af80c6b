"""gunicorn settings of the Procfiles (``gunicorn -c config/gunicorn.py``): metrics bookkeeping.

Command-line flags still set the bind address, workers and timeouts.
"""

import os

from gunicorn.glogging import Logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


def on_starting(server):
    # The master reads the settings once, which puts PROMETHEUS_MULTIPROC_DIR in its
    # environment before any worker is forked (workers inherit it) and before prometheus_client
    # is imported here.
    from django.conf import settings

    server.log.info("Prometheus multiprocess directory: %s", settings.PROMETHEUS_MULTIPROC_DIR)


def child_exit(server, worker):
    from core.exporter import process_exited

    process_exited(worker.pid)


class RedactingLogger(Logger):
    """gunicorn's own logs (the access log above all: a store's push URL carries its secret
    in the path) go through the same redaction as every other log line (core/logs.py)."""

    def setup(self, cfg):
        super().setup(cfg)
        from core.logs import RedactSecretsFilter

        for log in (self.access_log, self.error_log):
            log.addFilter(RedactSecretsFilter())


logger_class = "config.gunicorn.RedactingLogger"
