"""Base of the admin pages for records that change only through services (or BrickLink)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browsable, never edited by hand; no full count of big tables."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
