"""Orders in the operations console: browsable, never edited by hand; what needs attention
(oversold or unmatched lines) is one filter away."""

from django.contrib import admin, messages

from core.admin_base import ReadOnlyAdmin

from . import services
from .models import Order, OrderFeed, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "lot_id",
        "part_number",
        "color_id",
        "condition",
        "quantity",
        "item",
        "effect",
        "oversold_quantity",
        "applied_quantity",
        "applied_bucket",
        "present",
        "pick_status",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "provider",
        "external_id",
        "status",
        "state",
        "needs_attention",
        "history",
        "buyer_name",
        "placed_at",
    ]
    list_filter = ["provider", "state", "needs_attention", "history"]
    list_select_related = ["account"]
    search_fields = ["=external_id", "buyer_name"]
    inlines = [OrderLineInline]
    date_hierarchy = "placed_at"


@admin.register(OrderFeed)
class OrderFeedAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "provider",
        "status",
        "polled_at",
        "attempts",
        "next_attempt_at",
        "requested_at",
    ]
    list_filter = ["provider", "status"]
    list_select_related = ["account"]
    actions = ["poll_now"]

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.change_orderfeed")

    @admin.action(description="Fetch these stores' orders now")
    def poll_now(self, request, queryset) -> None:
        from inventory.models import MarketplaceConnection

        connections = [
            MarketplaceConnection.objects.filter(
                account_id=feed.account_id, provider=feed.provider
            ).first()
            for feed in queryset
        ]
        asked = services.feeds_due(connections=[c for c in connections if c])
        self.message_user(request, f"{asked} store(s) are being polled.", messages.SUCCESS)
