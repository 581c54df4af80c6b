"""How each limit stands: used in the current window, remaining, next reset, denials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core import clock

from . import rules as r
from .config import Limit, all_limits, limit_get
from .models import Bucket


@dataclass(frozen=True)
class RuleStatus:
    kind: str
    rate: float
    period: float
    capacity: float
    shards: int
    used: float  # granted in the current window (token buckets: the current UTC day)
    remaining: float  # available now, over all shards (negative while reserved ahead)
    denials: int  # in the current window
    total_denials: int
    next_reset: datetime


@dataclass(frozen=True)
class LimitStatus:
    name: str
    key: str
    description: str
    rules: tuple[RuleStatus, ...]
    blocked_until: datetime | None

    @property
    def remaining(self) -> float:
        """What the limit as a whole can grant now: its tightest rule."""
        return min(rule.remaining for rule in self.rules)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _status(limit: Limit, key: str, rows: list[Bucket], now: float) -> LimitStatus:
    by_identity = {(row.rule, row.shard): row for row in rows}
    rule_statuses = []
    blocked = max((row.blocked_until for row in rows), default=0.0)
    for index, rule in enumerate(limit.rules):
        used = remaining = 0.0
        denials = total_denials = 0
        reset = now
        current = r.usage_period_start(rule, now)
        for shard in range(rule.shards):
            row = by_identity.get((index, shard))
            bucket = (
                r.refill(rule, shard, r.Bucket(row.value, row.ts), now)
                if row
                else r.initial(rule, shard, now)
            )
            remaining += bucket.value
            reset = max(reset, r.next_reset(rule, shard, bucket, now))
            if row:
                total_denials += row.total_denials
                if row.period_start >= current:
                    used += row.used
                    denials += row.denials
        rule_statuses.append(
            RuleStatus(
                kind=rule.kind,
                rate=rule.rate,
                period=rule.period,
                capacity=rule.total_capacity,
                shards=rule.shards,
                used=used,
                remaining=remaining,
                denials=denials,
                total_denials=total_denials,
                next_reset=_at(reset),
            )
        )
    return LimitStatus(
        name=limit.name,
        key=key,
        description=limit.description,
        rules=tuple(rule_statuses),
        blocked_until=_at(blocked) if blocked > now else None,
    )


def rate_limit_status(*, name: str | None = None, key: str | None = None) -> list[LimitStatus]:
    """Every configured limit (or one), for every key that has state; a limit nobody used yet
    appears once, full, under the empty key."""
    now = clock.now().timestamp()
    limits = [limit_get(name)] if name else list(all_limits().values())
    rows = Bucket.objects.filter(name__in=[limit.name for limit in limits])
    if key is not None:
        rows = rows.filter(key=key)
    grouped: dict[tuple[str, str], list[Bucket]] = {}
    for row in rows:
        grouped.setdefault((row.name, row.key), []).append(row)
    statuses = []
    for limit in limits:
        keys = sorted(k for (n, k) in grouped if n == limit.name)
        if not keys:
            keys = [key if key is not None else ""]
        statuses.extend(_status(limit, k, grouped.get((limit.name, k), []), now) for k in keys)
    return statuses
