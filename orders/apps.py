from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from outbox.sweep import work_register

        from .work import FEEDS

        work_register(FEEDS)
