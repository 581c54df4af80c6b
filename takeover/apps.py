from django.apps import AppConfig


class TakeoverConfig(AppConfig):
    name = "takeover"
    verbose_name = "Store takeover"
