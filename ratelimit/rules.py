"""The arithmetic of a limit's rules, with no database: refill, take, time until enough.

A bucket is two numbers, ``value`` (tokens available; negative while a reservation is in
debt) and ``ts`` (epoch seconds of the last refill, or the start of the current fixed
window). Semantics follow the Convex rate limiter:

* **token bucket**: refills continuously at ``rate`` per ``period`` up to ``capacity``;
* **fixed window**: grants ``rate`` at the start of every window of ``period`` seconds,
  aligned to ``start`` (0 = the Unix epoch, so daily windows begin at 00:00 UTC), up to
  ``capacity`` (``capacity == rate`` is "no rollover");
* a take of ``count`` that does not fit is denied with the time until it would, unless
  ``reserve`` is asked: then the tokens are taken into debt (at most ``max_reserved``) and
  the caller is told when it may run;
* ``shards`` split ``rate`` and ``capacity`` over N buckets so hot limits do not serialise on
  one row; the sum over shards never exceeds the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TOKEN_BUCKET = "token_bucket"  # noqa: S105 - a kind, not a secret
FIXED_WINDOW = "fixed_window"
KINDS = (TOKEN_BUCKET, FIXED_WINDOW)
# Float arithmetic on refills: a token that is 1e-9 short is there.
EPSILON = 1e-9


class LimitCannotFit(ValueError):
    """The request asks for more than the limit can ever grant: waiting will not help."""


@dataclass(frozen=True)
class Rule:
    kind: str
    rate: float
    period: float
    capacity: float | None = None
    max_reserved: float | None = None
    shards: int = 1
    start: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.rate <= 0 or self.period <= 0:
            raise ValueError("rate and period must be positive")
        if self.capacity is not None and self.capacity <= 0:
            raise ValueError("capacity must be positive")
        if self.shards < 1:
            raise ValueError("shards must be at least 1")
        if self.max_reserved is not None and self.max_reserved < 0:
            raise ValueError("max_reserved cannot be negative")

    @property
    def total_capacity(self) -> float:
        return self.capacity if self.capacity is not None else self.rate

    def _split(self, total: float, shard: int) -> float:
        """A shard's part: whole tokens spread as evenly as possible, so the parts sum to the
        whole exactly (500 over 3 shards is 167 + 167 + 166, never 3 x 166.67)."""
        if self.shards == 1:
            return total
        if float(total).is_integer():
            whole = int(total)
            return whole // self.shards + (1 if shard < whole % self.shards else 0)
        return total / self.shards

    def shard_rate(self, shard: int) -> float:
        return self._split(self.rate, shard)

    def shard_capacity(self, shard: int) -> float:
        return self._split(self.total_capacity, shard)

    def shard_max_reserved(self, shard: int) -> float | None:
        return None if self.max_reserved is None else self._split(self.max_reserved, shard)

    def window_start(self, now: float) -> float:
        return self.start + math.floor((now - self.start) / self.period) * self.period

    def check_fits(self, count: float, *, reserve: bool) -> None:
        """Raise at once for a request no amount of waiting can satisfy."""
        capacity = self.total_capacity
        if not reserve and count > capacity + EPSILON:
            raise LimitCannotFit(f"{count} tokens can never fit a capacity of {capacity}")
        if reserve and self.max_reserved is not None and count > capacity + self.max_reserved:
            raise LimitCannotFit(
                f"{count} tokens can never fit a capacity of {capacity} "
                f"with at most {self.max_reserved} reserved"
            )


@dataclass
class Bucket:
    value: float
    ts: float


def initial(rule: Rule, shard: int, now: float) -> Bucket:
    ts = rule.window_start(now) if rule.kind == FIXED_WINDOW else now
    return Bucket(value=rule.shard_capacity(shard), ts=ts)


def refill(rule: Rule, shard: int, bucket: Bucket, now: float) -> Bucket:
    """The bucket as it stands at ``now``."""
    capacity = rule.shard_capacity(shard)
    rate = rule.shard_rate(shard)
    if rule.kind == TOKEN_BUCKET:
        if now <= bucket.ts:
            return Bucket(bucket.value, bucket.ts)
        value = bucket.value + (now - bucket.ts) * rate / rule.period
        return Bucket(min(capacity, value), now)
    window = rule.window_start(now)
    if window <= bucket.ts:
        return Bucket(bucket.value, bucket.ts)
    windows = round((window - bucket.ts) / rule.period)
    return Bucket(min(capacity, bucket.value + windows * rate), window)


def seconds_until(rule: Rule, shard: int, bucket: Bucket, need: float, now: float) -> float:
    """Seconds from ``now`` until the (already refilled) bucket holds ``need`` tokens."""
    if bucket.value + EPSILON >= need:
        return 0.0
    missing = need - bucket.value
    rate = rule.shard_rate(shard)
    if rule.kind == TOKEN_BUCKET:
        return missing * rule.period / rate
    windows = math.ceil(missing / rate - EPSILON)
    return max(0.0, rule.window_start(now) + windows * rule.period - now)


def next_reset(rule: Rule, shard: int, bucket: Bucket, now: float) -> float:
    """When the rule next grants afresh: the next window, or (token bucket) when full."""
    if rule.kind == FIXED_WINDOW:
        return rule.window_start(now) + rule.period
    missing = rule.shard_capacity(shard) - bucket.value
    return now + max(0.0, missing * rule.period / rule.shard_rate(shard))


# Token buckets count what they granted (``used``) per UTC day.
USAGE_DAY = 86_400.0


def usage_period_start(rule: Rule, now: float) -> float:
    """Where the period a rule's ``used`` and ``denials`` count over began: the current window
    of a fixed window, the current UTC day of a token bucket."""
    if rule.kind == FIXED_WINDOW:
        return rule.window_start(now)
    return now - now % USAGE_DAY
