from django.db import models


class Bucket(models.Model):
    """One rule of one limit, for one key, in one shard: the two numbers plus bookkeeping.

    Every take locks the rows it needs (``SELECT ... FOR UPDATE``, in a fixed order) and
    writes them back in the same transaction, so any number of processes on any number of
    machines share one quota exactly. Times are Unix epoch seconds.
    """

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=200, blank=True, default="")
    rule = models.PositiveSmallIntegerField()
    shard = models.PositiveSmallIntegerField(default=0)
    value = models.FloatField(help_text="tokens available; negative while reserved ahead")
    ts = models.FloatField(help_text="last refill, or start of the current fixed window")
    blocked_until = models.FloatField(
        default=0, help_text="a vendor said stop: nothing is granted before this time"
    )
    period_start = models.FloatField(default=0, help_text="start of the window `used` counts")
    used = models.FloatField(default=0, help_text="tokens granted since period_start")
    denials = models.PositiveBigIntegerField(default=0, help_text="denied takes since period_start")
    total_denials = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "key", "rule", "shard"], name="ratelimit_bucket_identity"
            )
        ]
        ordering = ["name", "key", "rule", "shard"]

    def __str__(self) -> str:
        key = f"[{self.key}]" if self.key else ""
        return f"{self.name}{key} rule {self.rule} shard {self.shard}"


class CircuitBreaker(models.Model):
    """Shared by every worker: after N consecutive transient failures upstream, stop calling
    for a cool-down, then let one probe decide."""

    class State(models.TextChoices):
        CLOSED = "closed", "closed"
        OPEN = "open", "open"
        HALF_OPEN = "half_open", "half open (probing)"

    name = models.CharField(max_length=50, primary_key=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    probe_token = models.UUIDField(null=True, blank=True, default=None)
    probe_started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.state}"


class ConcurrencySlot(models.Model):
    """One of N seats for calls in flight at once (per name and key). A seat is held under a
    lease, so a worker that dies mid-call frees it when the lease runs out."""

    name = models.CharField(max_length=100)
    key = models.CharField(max_length=200, blank=True, default="")
    slot = models.PositiveSmallIntegerField()
    holder = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "key", "slot"], name="ratelimit_slot_identity")
        ]

    def __str__(self) -> str:
        return f"{self.name}[{self.key}] seat {self.slot}"
