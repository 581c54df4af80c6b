"""Store takeovers in the operations console: browsable, never edited by hand."""

from django.contrib import admin

from core.admin_base import ReadOnlyAdmin

from .models import StoreImport


@admin.register(StoreImport)
class StoreImportAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "provider",
        "dry_run",
        "status",
        "lots_seen",
        "items_created",
        "items_linked",
        "started_at",
        "finished_at",
    ]
    list_filter = ["provider", "status", "dry_run"]
    list_select_related = ["account"]
    search_fields = ["=account__id"]
    readonly_fields = [field.name for field in StoreImport._meta.fields]
