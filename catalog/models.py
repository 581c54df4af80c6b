"""The global catalog (shared by every account) and the outbox that keeps it fresh."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class Category(models.Model):
    category_id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    parent_id = models.IntegerField(default=0, help_text="0 for a root category")
    last_fetched = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["category_id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return f"{self.category_id} {self.name}"


class Color(models.Model):
    color_id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=6, blank=True, help_text="hex, without #")
    type = models.CharField(max_length=50, blank=True)
    last_fetched = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["color_id"]

    def __str__(self) -> str:
        return f"{self.color_id} {self.name}"


class Part(models.Model):
    no = models.CharField(max_length=40, primary_key=True)
    name = models.CharField(max_length=500)
    type = models.CharField(max_length=20, default="PART")
    category_id = models.IntegerField(null=True, blank=True)
    # As BrickLink gives them (https: added): data, not user input to validate.
    image_url = models.CharField(max_length=500, blank=True)
    thumbnail_url = models.CharField(max_length=500, blank=True)
    weight_g = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    dim_x = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    dim_y = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    dim_z = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    year_released = models.PositiveSmallIntegerField(null=True, blank=True)
    is_obsolete = models.BooleanField(default=False)
    is_printed = models.BooleanField(default=False)
    alternate_no = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    last_fetched = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["no"]

    def __str__(self) -> str:
        return f"{self.no} {self.name}"


class PartColorList(models.Model):
    """The colors a part is known in, fetched as one resource with its own freshness."""

    no = models.CharField(max_length=40, primary_key=True)
    last_fetched = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["no"]

    def __str__(self) -> str:
        return f"colors of {self.no}"


class PartColor(models.Model):
    color_list = models.ForeignKey(PartColorList, on_delete=models.CASCADE, related_name="colors")
    color_id = models.IntegerField()
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["color_list", "color_id"]
        constraints = [
            models.UniqueConstraint(fields=["color_list", "color_id"], name="catalog_part_color")
        ]

    def __str__(self) -> str:
        return f"{self.color_list_id} in {self.color_id}"


class Condition(models.TextChoices):
    NEW = "N", "new"
    USED = "U", "used"


class GuideType(models.TextChoices):
    STOCK = "stock", "stock"
    SOLD = "sold", "sold"


class PriceGuide(models.Model):
    """One of a part-color's four guides; the four are always written together."""

    no = models.CharField(max_length=40)
    color_id = models.IntegerField()
    new_or_used = models.CharField(max_length=1, choices=Condition.choices)
    guide_type = models.CharField(max_length=5, choices=GuideType.choices)
    currency_code = models.CharField(max_length=3, default="USD")
    min_price = models.DecimalField(max_digits=14, decimal_places=4)
    max_price = models.DecimalField(max_digits=14, decimal_places=4)
    avg_price = models.DecimalField(max_digits=14, decimal_places=4)
    qty_avg_price = models.DecimalField(max_digits=14, decimal_places=4)
    unit_quantity = models.PositiveIntegerField(default=0)
    total_quantity = models.PositiveIntegerField(default=0)
    last_fetched = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["no", "color_id", "new_or_used", "guide_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["no", "color_id", "currency_code", "new_or_used", "guide_type"],
                name="catalog_price_guide_identity",
            )
        ]

    def __str__(self) -> str:
        return f"{self.no}/{self.color_id} {self.new_or_used} {self.guide_type}"


class MissingPart(models.Model):
    """BrickLink said this number does not exist: answered 404 without asking again for a
    while (CATALOG_NOT_FOUND_DAYS). An explicit refresh asks again."""

    no = models.CharField(max_length=40, primary_key=True)
    confirmed_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.no


class Kind(models.TextChoices):
    PART = "part", "part"
    PART_COLORS = "part_colors", "part colors"
    PRICE_GUIDE = "price_guide", "price guide"


class Priority(models.IntegerChoices):
    LOW = 10, "low"  # background freshness scan
    NORMAL = 20, "normal"  # a stale read
    HIGH = 30, "high"  # a user asked, or the data is missing or expired


class JobStatus(models.TextChoices):
    PENDING = "pending", "pending"
    INFLIGHT = "inflight", "in flight"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.INFLIGHT)


def resource_key(kind: str, no: str, color_id: int | None = None) -> str:
    return f"{kind}:{no}" if kind != Kind.PRICE_GUIDE else f"{kind}:{no}:{color_id}"


class RefreshJob(models.Model):
    """One refresh of one resource: the outbox row. PostgreSQL is the record; a Celery
    message only says "look at row N soon"."""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    no = models.CharField(max_length=40)
    color_id = models.IntegerField(null=True, blank=True)
    resource = models.CharField(max_length=80, help_text="kind:no[:color_id]")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="failed attempts so far")
    deferrals = models.PositiveIntegerField(
        default=0, help_text="times put back without calling (quota, breaker): not attempts"
    )
    next_attempt_at = models.DateTimeField()
    last_error = models.JSONField(null=True, blank=True)
    partial = models.JSONField(
        null=True,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="price guides an earlier attempt fetched before failing: a retry asks only "
        "for the rest, and all four are stored together once they are in",
    )
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    drain_run = models.ForeignKey(
        "DrainRun",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,  # runs are pruned; a row may outlive its run
        help_text="the drain pass that last sent this row, while it is out",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one pending or in-flight refresh per resource, under any concurrency.
            models.UniqueConstraint(
                fields=["resource"],
                condition=Q(status__in=["pending", "inflight"]),
                name="catalog_refresh_one_active_per_resource",
            )
        ]
        indexes = [
            models.Index(
                fields=["-priority", "next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="catalog_refresh_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="inflight"),
                name="catalog_refresh_leases",
            ),
            models.Index(fields=["resource", "-id"], name="catalog_refresh_by_resource"),
            models.Index(fields=["status", "processed_at"], name="catalog_refresh_cleanup"),
            models.Index(fields=["no"], name="catalog_refresh_by_no"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.resource} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class DrainRun(models.Model):
    """One pass of the drain: what it found and did."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reclaimed = models.PositiveIntegerField(default=0, help_text="expired leases put back")
    dispatched = models.PositiveIntegerField(
        "claimed", default=0, help_text="due rows it claimed and sent to the workers"
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # What became of the rows it sent, counted as the workers finish them.
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(
        default=0, help_text="failed attempts (retried later or failed for good)"
    )
    deferred = models.PositiveIntegerField(
        default=0, help_text="put back without calling: quota or circuit breaker"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"drain at {self.started_at:%Y-%m-%d %H:%M:%S}"
