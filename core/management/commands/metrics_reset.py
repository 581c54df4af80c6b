"""Start this machine's metrics from zero: ``make run`` runs it before starting the stack."""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.exporter import clear


class Command(BaseCommand):
    help = (
        "Remove the Prometheus files of processes that are not running (and the totals folded "
        "from them) under PROMETHEUS_MULTIPROC_DIR. Files of running processes are kept."
    )

    def handle(self, *args, **options):
        path = settings.PROMETHEUS_MULTIPROC_DIR
        self.stdout.write(f"removed {clear(path)} metrics files from {path}")
