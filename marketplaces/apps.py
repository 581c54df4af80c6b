from django.apps import AppConfig


class MarketplacesConfig(AppConfig):
    name = "marketplaces"
    verbose_name = "Marketplaces"
