"""The inventory as an operations console: browsable, never edited by hand.

Items, their history, sync states and connections change only through ``services.py``
(which writes the audit trail and schedules the syncs); the admin's actions call those
services. Marketplace credentials are never shown: the field is not in any form or list.
"""

from django.contrib import admin, messages

from core.admin_base import ReadOnlyAdmin

from . import selectors, services
from .models import (
    BrickOwlPart,
    InventoryHistory,
    InventoryItem,
    MarketplaceConnection,
    SyncState,
    SyncStatus,
)


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SyncStateInline(admin.TabularInline):
    model = SyncState
    extra = 0
    can_delete = False
    fields = ["provider", "status", "lot_id", "attempts", "next_attempt_at", "synced_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InventoryItem)
class InventoryItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "part_number",
        "color_id",
        "quantity_available",
        "status",
        "archived",
        "updated_at",
    ]
    list_filter = ["status", "condition", "archived"]
    list_select_related = ["account"]
    search_fields = ["part_number"]
    inlines = [SyncStateInline]
    actions = ["sync_now"]

    @admin.action(description="Sync the selected items now")
    def sync_now(self, request, queryset) -> None:
        items = list(queryset.filter(archived=False))
        for item in items:
            services.item_sync_now(item=item)
        self.message_user(request, f"{len(items)} item(s) are being synced.", messages.SUCCESS)


@admin.register(InventoryHistory)
class InventoryHistoryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "item_id",
        "account",
        "change_type",
        "quantity_available_delta",
        "from_status",
        "to_status",
        "actor",
        "reason",
        "created_at",
    ]
    list_filter = ["change_type"]
    list_select_related = ["account", "actor"]
    search_fields = ["item__part_number"]


@admin.register(MarketplaceConnection)
class MarketplaceConnectionAdmin(ReadOnlyAdmin):
    # ``credentials`` is deliberately in none of these: it is write-only, through the API.
    list_display = ["account", "provider", "enabled", "configured", "lots", "updated_at"]
    list_filter = ["provider", "enabled"]
    list_select_related = ["account"]
    fields = ["account", "provider", "enabled", "configured", "lots", "updated_at"]
    readonly_fields = fields
    exclude = ["credentials"]
    actions = ["switch_off"]

    @admin.display(boolean=True, description="configured")
    def configured(self, obj: MarketplaceConnection) -> bool:
        return obj.configured

    @admin.display(description="lots")
    def lots(self, obj: MarketplaceConnection) -> str:
        """Where the account's items stand on this store: a big upload's progress."""
        counts = selectors.sync_progress(obj.account_id).get(obj.provider, {})
        total = sum(counts.values())
        if not total:
            return "no items"
        synced = counts.get(SyncStatus.SYNCED, 0)
        waiting = counts.get(SyncStatus.SYNCING, 0) + counts.get(SyncStatus.PENDING, 0)
        failed = counts.get(SyncStatus.FAILED, 0)
        parts = [f"{synced:,} of {total:,} synced ({synced * 100 // total} %)"]
        if waiting:
            parts.append(f"{waiting:,} waiting")
        if failed:
            parts.append(f"{failed:,} failed")
        return ", ".join(parts)

    @admin.action(description="Switch the selected connections off")
    def switch_off(self, request, queryset) -> None:
        connections = list(queryset.select_related("account"))
        for connection in connections:
            services.connection_set(
                account=connection.account,
                provider=connection.provider,
                enabled=False,
                credentials=None,
            )
        self.message_user(request, f"{len(connections)} connection(s) switched off.")


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = [
        "item",
        "provider",
        "status",
        "lot_id",
        "attempts",
        "short_error",
        "next_attempt_at",
        "synced_at",
    ]
    list_filter = ["status", "provider", "in_doubt"]
    list_select_related = ["item"]
    search_fields = ["item__part_number", "lot_id"]
    actions = ["sync_again"]

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_syncstate")

    @admin.action(description="Sync again now", permissions=["operate"])
    def sync_again(self, request, queryset) -> None:
        """Failed (or any) syncs of the selected rows: attempts reset, sent to the workers."""
        items = {state.item_id: state.item for state in queryset.select_related("item")}
        live = [item for item in items.values() if not item.archived]
        for item in live:
            services.item_sync_now(item=item)
        self.message_user(request, f"{len(live)} item(s) are being synced again.", messages.SUCCESS)

    @admin.display(description="last error")
    def short_error(self, obj: SyncState) -> str:
        if not isinstance(obj.last_error, dict):
            return "—"
        return short(f"{obj.last_error.get('code')}: {obj.last_error.get('message')}")


@admin.register(BrickOwlPart)
class BrickOwlPartAdmin(ReadOnlyAdmin):
    list_display = ["part_number", "boid", "looked_up_at"]
    search_fields = ["part_number", "boid"]
