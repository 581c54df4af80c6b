from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from outbox.sweep import sweep_register

        from .services import sync_sweep

        sweep_register("inventory syncs", sync_sweep)
