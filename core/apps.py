from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        """The folders this process will write to, made when it starts (settings only say
        where they are): its Prometheus counters and, embedded, SQLite and the broker's."""
        folders = [Path(settings.PROMETHEUS_MULTIPROC_DIR)]
        if settings.EMBEDDED_DATABASE:
            folders.append(Path(settings.DATABASES["default"]["NAME"]).parent)
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        if settings.EMBEDDED_BROKER:
            folders += [Path(options[name]) for name in ("data_folder_in", "processed_folder")]
            folders.append(Path(options["control_folder"]))
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
