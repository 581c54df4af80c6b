from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from catalog.signals import part_stored
        from outbox.sweep import work_register

        from .catalog_checks import on_part_stored
        from .work import SYNCS

        work_register(SYNCS)
        # Items take a part's name when the catalog stores the part.
        part_stored.connect(on_part_stored, dispatch_uid="inventory.items_name_fill")
