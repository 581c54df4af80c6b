"""A seller's lots, their audit trail, their sync state per marketplace, and the account's
marketplace connections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Account

from .crypto import EncryptedJSONField


class Condition(models.TextChoices):
    NEW = "new", "new"
    USED = "used", "used"


class ItemStatus(models.TextChoices):
    AVAILABLE = "available", "available"
    RESERVED = "reserved", "reserved"
    SOLD = "sold", "sold"


class Provider(models.TextChoices):
    BRICKLINK = "bricklink", "BrickLink"
    BRICKOWL = "brickowl", "BrickOwl"


class InventoryItem(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="items")
    part_number = models.CharField(max_length=40)
    color_id = models.PositiveIntegerField()
    name = models.CharField(max_length=500, blank=True)
    condition = models.CharField(max_length=4, choices=Condition.choices)
    quantity_available = models.PositiveIntegerField(default=0)
    quantity_reserved = models.PositiveIntegerField(default=0)
    quantity_sold = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=ItemStatus.choices, default=ItemStatus.AVAILABLE
    )
    location = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="bumps on every change")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="inventory_price_not_negative")
        ]
        indexes = [
            models.Index(fields=["account", "archived", "-id"], name="inventory_item_list"),
            models.Index(fields=["account", "part_number", "color_id"], name="inventory_by_part"),
            # Every account's items of a part, when the catalog stores it (their name).
            models.Index(fields=["part_number"], name="inventory_by_part_number"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.part_number}/{self.color_id} x{self.quantity_available}"

    @property
    def listed_quantity(self) -> int:
        """What the marketplaces should offer: the available stock while it is for sale."""
        if self.archived or self.status != ItemStatus.AVAILABLE:
            return 0
        return self.quantity_available


class ChangeType(models.TextChoices):
    CREATE = "create", "create"
    UPDATE = "update", "update"
    DELETE = "delete", "delete"
    ORDER = "order", "order"  # stock moved by a marketplace order
    IMPORT = "import", "import"  # an inventory file or a store takeover
    RECONCILE = "reconcile", "reconcile"


class InventoryHistory(models.Model):
    """The audit trail: one row per change, written in the change's transaction."""

    item = models.ForeignKey(InventoryItem, on_delete=models.CASCADE, related_name="history")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    change_type = models.CharField(max_length=10, choices=ChangeType.choices)
    quantity_available_delta = models.IntegerField(default=0)
    quantity_reserved_delta = models.IntegerField(default=0)
    quantity_sold_delta = models.IntegerField(default=0)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    changes = models.JSONField(default=dict, help_text="field: [before, after]")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["item", "-id"], name="inventory_history_by_item")]

    def __str__(self) -> str:
        return f"{self.change_type} #{self.item_id} v{self.version}"


class MarketplaceConnection(models.Model):
    """An account's BrickLink or BrickOwl store. Credentials are write-only and encrypted."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    enabled = models.BooleanField(default=False)
    credentials = EncryptedJSONField(null=True, blank=True)
    # The key in this store's push URL (BrickLink callback, BrickOwl notification): made when
    # the store is first connected, never logged.
    callback_secret = models.CharField(max_length=64, blank=True, db_index=True)
    orders_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="orders placed before this are history (they move no stock); set when the "
        "store is first switched on",
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider"], name="inventory_one_connection_per_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.provider} ({'on' if self.enabled else 'off'})"

    def __repr__(self) -> str:
        return f"<MarketplaceConnection {self.account_id}/{self.provider}>"

    @property
    def configured(self) -> bool:
        return bool(self.credentials)


class SyncStatus(models.TextChoices):
    DISABLED = "disabled", "disabled"
    PENDING = "pending", "pending"
    SYNCING = "syncing", "syncing"
    SYNCED = "synced", "synced"
    FAILED = "failed", "failed"


class SyncState(models.Model):
    """Where one item stands on one marketplace, and what that marketplace was last confirmed
    to hold (the base a BrickLink quantity delta is computed from)."""

    item = models.ForeignKey(InventoryItem, on_delete=models.CASCADE, related_name="sync_states")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    lot_id = models.CharField(max_length=64, blank=True)
    confirmed = models.JSONField(
        null=True, blank=True, help_text="the lot as the marketplace last confirmed it"
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="when the marketplace said what confirmed holds"
    )
    in_doubt = models.BooleanField(
        default=False,
        help_text="a change may have landed without an answer: re-read before acting",
    )
    recheck = models.BooleanField(
        default=False,
        help_text="an order touched the lot while a sync ran, or too close to confirmed_at to "
        "tell whether the marketplace's answer counted it: re-read before acting",
    )
    synced_version = models.PositiveIntegerField(default=0)
    last_error = models.JSONField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    calls_reserved = models.PositiveSmallIntegerField(
        default=0,
        help_text="marketplace calls this sync has paid for (rate limit tokens) and not spent",
    )
    calls_usable_at = models.DateTimeField(
        null=True, blank=True, help_text="when the reserved calls may be spent (their turn)"
    )
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "provider"], name="inventory_one_sync_state")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "syncing"]),
                name="inventory_sync_due",
            ),
            models.Index(fields=["status"], name="inventory_sync_by_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.item_id} on {self.provider}: {self.status}"


class BrickOwlPart(models.Model):
    """BrickLink part number -> BrickOwl id (empty: BrickOwl has no such part), cached."""

    part_number = models.CharField(max_length=40, primary_key=True)
    boid = models.CharField(max_length=40, blank=True)
    looked_up_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.part_number} -> {self.boid or 'unmapped'}"
