"""A store takeover: one read of a seller's existing BrickLink or BrickOwl store, every lot
linked to an item (an existing one, or one made from the lot), and its report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Account
from inventory.models import Provider


class ImportStatus(models.TextChoices):
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class StoreImport(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="store_imports")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    dry_run = models.BooleanField(default=False, help_text="report only: nothing written")
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    lots_seen = models.PositiveIntegerField(default=0)
    lots_already_ours = models.PositiveIntegerField(
        default=0, help_text="lots already linked to an item (ours, or taken over before)"
    )
    items_created = models.PositiveIntegerField(default=0)
    items_linked = models.PositiveIntegerField(default=0)
    unmapped = models.JSONField(default=list, blank=True, help_text='[{"lot_id", "reason"}]')
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="runs that failed for a reason worth retrying"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when a worker was last told to run it (or, deferred, when it will be), or "
        "last began a run: a running import long past this lost its message",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider"],
                condition=Q(status="running"),
                name="takeover_one_running_import",
            )
        ]

    def __str__(self) -> str:
        return f"import #{self.pk} of {self.provider} for {self.account_id}: {self.status}"
