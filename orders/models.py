"""Marketplace orders as records: each order a buyer placed in one of an account's stores, its
lines, and the feed that brings them in.

An order moves stock exactly once per change of what it implies: a line's quantity goes from
available to reserved while the order is open, to sold when it completes, back to available
when it is cancelled. What a line has moved is kept on the line (``applied_quantity`` in
``applied_bucket``), so seeing the order again computes the difference -- usually none.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import Account
from inventory.models import InventoryItem, Provider


class OrderState(models.TextChoices):
    OPEN = "open", "open"
    COMPLETED = "completed", "completed"
    CANCELLED = "cancelled", "cancelled"


class LineEffect(models.TextChoices):
    APPLIED = "applied", "applied"
    UNMATCHED = "unmatched", "unmatched"  # no item owns the lot it was sold from
    OVERSOLD = "oversold", "oversold"  # sold beyond what was available (both stores at once)


class PickStatus(models.TextChoices):
    UNPICKED = "unpicked", "unpicked"
    PICKED = "picked", "picked"
    ISSUE = "issue", "issue"
    SKIPPED = "skipped", "skipped"


class Bucket(models.TextChoices):
    """Where a line's applied quantity sits on its item."""

    NONE = "", "none"
    RESERVED = "reserved", "reserved"
    SOLD = "sold", "sold"


class Order(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    external_id = models.CharField(max_length=64, help_text="the marketplace's order id")
    status = models.CharField(max_length=40, help_text="the marketplace's own status word")
    state = models.CharField(max_length=10, choices=OrderState.choices, default=OrderState.OPEN)
    buyer_name = models.CharField(max_length=200, blank=True)
    placed_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()
    needs_attention = models.BooleanField(
        default=False, help_text="a line was oversold or sold from a lot no item owns"
    )
    history = models.BooleanField(
        default=False,
        help_text="placed before this store's orders were followed: recorded, moves no stock",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider", "external_id"], name="orders_one_per_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["account", "-placed_at", "-id"], name="orders_newest_first"),
            models.Index(
                fields=["account"], condition=Q(needs_attention=True), name="orders_attention"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} order {self.external_id} ({self.status})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    lot_id = models.CharField(max_length=64, help_text="the marketplace lot it was sold from")
    part_number = models.CharField(max_length=40, blank=True)
    color_id = models.IntegerField(null=True, blank=True, help_text="BrickLink's color id")
    condition = models.CharField(max_length=4, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    item = models.ForeignKey(
        InventoryItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    effect = models.CharField(max_length=10, choices=LineEffect.choices)
    oversold_quantity = models.PositiveIntegerField(default=0)
    # What this line has moved on its item, and where that quantity sits now.
    applied_quantity = models.PositiveIntegerField(default=0)
    applied_bucket = models.CharField(max_length=10, choices=Bucket.choices, blank=True)
    # Still in the order (a BrickLink order UPDATED can remove items).
    present = models.BooleanField(default=True)
    # Its first sight was dealt with: the selling marketplace's taking of it accounted for,
    # and what it could reserve decided (whatever the order's state by then).
    counted = models.BooleanField(default=False)
    pick_status = models.CharField(
        max_length=10, choices=PickStatus.choices, default=PickStatus.UNPICKED
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "lot_id"], name="orders_one_line_per_lot")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x lot {self.lot_id} ({self.effect})"


class FeedStatus(models.TextChoices):
    IDLE = "idle", "idle"
    DUE = "due", "due"
    FAILED = "failed", "failed"


class OrderFeed(models.Model):
    """One store's stream of orders: the outbox row that polls it, with what the last poll
    learnt (so a poll that must wait does not ask again)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    status = models.CharField(max_length=10, choices=FeedStatus.choices, default=FeedStatus.IDLE)
    since = models.DateTimeField(
        help_text="orders placed before this are history: recorded, never moving stock"
    )
    # The run's own list of orders the marketplace said are new or changed and that are still
    # to fetch: [{"id": "123", ...}], kept across waits so a run that must wait asks nothing
    # twice.
    to_fetch = models.JSONField(default=list, blank=True)
    # What pushes asked for since the last run took them (a BrickLink callback: read the
    # notifications; a BrickOwl notification: that order), and when anything last asked.
    pushed = models.JSONField(default=list, blank=True)
    check_notifications = models.BooleanField(default=False)
    poll_requested = models.BooleanField(default=False, help_text="read the store's order list")
    requested_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.JSONField(null=True, blank=True)
    calls_reserved = models.PositiveSmallIntegerField(default=0)
    calls_usable_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "provider"], name="orders_one_feed")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="due"), name="orders_feed_due"
            )
        ]

    def __str__(self) -> str:
        return f"orders of {self.account_id}/{self.provider} ({self.status})"
