from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from outbox.sweep import work_register

        from .work import REFRESHES

        work_register(REFRESHES)
