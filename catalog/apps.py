from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from outbox.sweep import sweep_register

        from .services import refresh_sweep

        sweep_register("refreshes", refresh_sweep)
