from django.contrib import admin
from django.utils.html import format_html

from core import clock
from core.admin_base import ReadOnlyAdmin
from core.admin_site import drain_message
from core.dashboard import overdue_before
from core.paginator import EstimatedCountPaginator

from . import services
from .models import (
    Category,
    Color,
    DrainRun,
    JobStatus,
    MissingPart,
    Part,
    PartColor,
    PartColorList,
    PriceGuide,
    RefreshJob,
)


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


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "overdue (due > 5 min ago, not run)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(
                status=JobStatus.PENDING, next_attempt_at__lt=overdue_before(clock.now())
            )
        return queryset


class HasErrorFilter(admin.SimpleListFilter):
    title = "has error"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(last_error__isnull=False)
        if self.value() == "no":
            return queryset.filter(last_error__isnull=True)
        return queryset


@admin.register(RefreshJob)
class RefreshJobAdmin(ReadOnlyAdmin):
    """The refresh outbox as a queue monitor: read-only rows, and the four actions an operator
    needs. "Drain now" works with or without a selection."""

    list_display = [
        "id",
        "resource",
        "kind",
        "status",
        "priority",
        "attempts",
        "next_attempt_at",
        "age",
        "short_error",
    ]
    list_filter = ["status", "kind", "priority", OverdueFilter, HasErrorFilter]
    list_select_related = False  # no relation is shown: one query for the page, no joins
    search_fields = ["no"]
    search_help_text = "Exact part number, e.g. 3001"
    paginator = EstimatedCountPaginator
    actions = ["retry_now", "raise_to_high", "mark_failed", "drain_now"]
    NO_SELECTION_ACTIONS = {"drain_now"}

    def has_operate_permission(self, request) -> bool:
        """The actions: rows stay read-only, but an operator with the change permission acts
        on the queue."""
        return request.user.has_perm("catalog.change_refreshjob")

    def changelist_view(self, request, extra_context=None):
        # Django refuses an action without selected rows; "drain now" needs none.
        if (
            request.method == "POST"
            and request.POST.get("action") in self.NO_SELECTION_ACTIONS
            and not request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        ):
            post = request.POST.copy()
            post["select_across"] = "1"
            post.setlist(admin.helpers.ACTION_CHECKBOX_NAME, ["0"])
            request.POST = post
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # An exact, case-sensitive match uses the index on ``no``; the admin's own lookups
        # (icontains, or iexact for "=no") scan a million rows.
        term = search_term.strip()
        return (queryset.filter(no=term) if term else queryset), False

    @admin.display(description="age")
    def age(self, obj: RefreshJob) -> str:
        seconds = int((clock.now() - obj.created_at).total_seconds())
        return f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 60 else f"{seconds}s"

    @admin.display(description="last error")
    def short_error(self, obj: RefreshJob) -> str:
        if not obj.last_error:
            return "—"
        message = f"{obj.last_error.get('code')}: {obj.last_error.get('message')}"
        return message if len(message) <= 80 else message[:77] + "…"

    @admin.action(description="Retry now", permissions=["operate"])
    def retry_now(self, request, queryset) -> None:
        retried, skipped = services.refresh_retry_now(job_ids=_ids(queryset))
        note = f" {skipped} skipped (in flight, or already queued)." if skipped else ""
        self.message_user(request, f"{retried} row(s) sent to the workers now.{note}")

    @admin.action(description="Raise to HIGH", permissions=["operate"])
    def raise_to_high(self, request, queryset) -> None:
        raised = services.refresh_raise_to_high(job_ids=_ids(queryset))
        self.message_user(request, f"{raised} pending row(s) raised to HIGH.")

    @admin.action(description="Mark failed", permissions=["operate"])
    def mark_failed(self, request, queryset) -> None:
        by = request.user.get_username()
        marked = services.refresh_mark_failed(job_ids=_ids(queryset), by=by)
        self.message_user(request, f"{marked} pending or in-flight row(s) marked failed.")

    @admin.action(description="Drain now (no selection needed)", permissions=["operate"])
    def drain_now(self, request, queryset) -> None:
        self.message_user(request, drain_message(services.refresh_drain()))


def _ids(queryset) -> list[int]:
    return list(queryset.values_list("id", flat=True)[:ACTION_LIMIT])


# An action's selection is capped: "select all 1,000,000" must not become one giant UPDATE.
ACTION_LIMIT = 10_000


@admin.register(DrainRun)
class DrainRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "finished_at",
        "duration_ms",
        "reclaimed",
        "dispatched",
        "succeeded",
        "failed",
        "deferred",
    ]
