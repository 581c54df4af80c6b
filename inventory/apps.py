from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from outbox.sweep import work_register

        from .work import SYNCS

        work_register(SYNCS)
