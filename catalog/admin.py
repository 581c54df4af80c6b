from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from .models import (
    Category,
    Color,
    DrainRun,
    MissingPart,
    Part,
    PartColor,
    PartColorList,
    PriceGuide,
    RefreshJob,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Catalog records come from BrickLink: browsable, never edited by hand."""

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Part)
class PartAdmin(ReadOnlyAdmin):
    list_display = ["no", "name", "category_id", "is_printed", "is_obsolete", "last_fetched"]
    list_filter = ["is_printed", "is_obsolete", "type"]
    search_fields = ["no", "name"]


@admin.register(Color)
class ColorAdmin(ReadOnlyAdmin):
    list_display = ["color_id", "name", "swatch", "type", "last_fetched"]
    search_fields = ["name"]

    @admin.display(description="code")
    def swatch(self, obj: Color):
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:#{};'
            'border:1px solid #999"></span> {}',
            obj.code,
            obj.code,
        )


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ["category_id", "name", "parent_id", "last_fetched"]
    search_fields = ["name"]


class PartColorInline(admin.TabularInline):
    model = PartColor
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PartColorList)
class PartColorListAdmin(ReadOnlyAdmin):
    list_display = ["no", "last_fetched"]
    search_fields = ["no"]
    inlines = [PartColorInline]


@admin.register(PriceGuide)
class PriceGuideAdmin(ReadOnlyAdmin):
    list_display = [
        "no",
        "color_id",
        "new_or_used",
        "guide_type",
        "currency_code",
        "avg_price",
        "total_quantity",
        "last_fetched",
    ]
    list_filter = ["new_or_used", "guide_type", "currency_code"]
    search_fields = ["no"]


@admin.register(MissingPart)
class MissingPartAdmin(ReadOnlyAdmin):
    list_display = ["no", "confirmed_at"]
    search_fields = ["no"]


@admin.register(RefreshJob)
class RefreshJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "resource",
        "kind",
        "status",
        "priority",
        "attempt",
        "next_attempt_at",
        "age",
        "short_error",
    ]
    list_filter = ["status", "kind", "priority"]
    search_fields = ["no"]

    @admin.display(description="age")
    def age(self, obj: RefreshJob) -> str:
        seconds = int((timezone.now() - obj.created_at).total_seconds())
        return f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 60 else f"{seconds}s"

    @admin.display(description="last error")
    def short_error(self, obj: RefreshJob) -> str:
        if not obj.last_error:
            return "—"
        message = f"{obj.last_error.get('code')}: {obj.last_error.get('message')}"
        return message if len(message) <= 80 else message[:77] + "…"


@admin.register(DrainRun)
class DrainRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "reclaimed", "dispatched", "duration_ms"]
