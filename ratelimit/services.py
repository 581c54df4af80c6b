"""Taking from the named limits: one atomic read-modify-write per take.

A take locks every bucket row it needs (``SELECT ... FOR UPDATE`` in one fixed order, so two
takes never deadlock), decides with :mod:`ratelimit.rules`, and writes the rows back in the
same transaction. Inside a caller's ``transaction.atomic()`` it joins that transaction, so
"claim a job and take its tokens" commit or roll back together. On SQLite the embedded stack's
``BEGIN IMMEDIATE`` transactions serialise writers the same way.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Greatest

from core import clock
from core.metrics import RATE_LIMIT_DENIALS

from . import rules as r
from .config import Limit, limit_get
from .models import Bucket

LimitRef = str | tuple[str, str]
Identity = tuple[str, str, int, int]  # name, key, rule index, shard


@dataclass(frozen=True)
class Decision:
    """``granted`` now (``retry_after == 0``) or reserved (run after ``retry_after`` seconds);
    or denied, and then ``retry_after`` says when the same take could succeed."""

    granted: bool
    retry_after: float = 0.0
    limit: str | None = None  # the limit that denied
    blocked: bool = False  # denied because a vendor said stop (see rate_limit_exhaust_until)


@dataclass
class _RulePlan:
    limit: Limit
    key: str
    index: int
    rule: r.Rule
    shards: tuple[int, ...]

    def identities(self) -> list[Identity]:
        return [(self.limit.name, self.key, self.index, shard) for shard in self.shards]


@dataclass
class _Outcome:
    ok: bool
    wait: float = 0.0
    takes: dict[int, float] = field(default_factory=dict)  # shard -> tokens taken


def _targets(names: str | Sequence[LimitRef], key: str) -> list[tuple[Limit, str]]:
    refs = [names] if isinstance(names, str) else list(names)
    if not refs:
        raise ValueError("name at least one limit")
    targets: dict[tuple[str, str], Limit] = {}
    for ref in refs:
        name, ref_key = (ref, key) if isinstance(ref, str) else ref
        targets[name, str(ref_key)] = limit_get(name)
    return [(limit, ref_key) for (_, ref_key), limit in targets.items()]


def _plan(targets: list[tuple[Limit, str]], count: float, reserve: bool) -> list[_RulePlan]:
    plans = []
    for limit, key in targets:
        for index, rule in enumerate(limit.rules):
            rule.check_fits(count, reserve=reserve)
            # Power of two choices: look at two random shards and use the roomier.
            shards = (
                tuple(sorted(random.sample(range(rule.shards), 2))) if rule.shards > 1 else (0,)
            )
            plans.append(_RulePlan(limit, key, index, rule, shards))
    return plans


_COLUMNS = (
    "id",
    "name",
    "key",
    "rule",
    "shard",
    "value",
    "ts",
    "blocked_until",
    "period_start",
    "used",
    "denials",
    "total_denials",
)
WRITE_FIELDS = ["value", "ts", "used", "denials", "total_denials", "period_start"]


def _select(identities: list[Identity], *, lock: bool) -> dict[Identity, Bucket]:
    """The rows, in the one order every take locks them. Plain SQL: this is the hot path,
    and building it through the ORM cost more than the database round trips."""
    table = Bucket._meta.db_table
    tuples = ", ".join(["(%s, %s, %s, %s)"] * len(identities))
    connection = transaction.get_connection()
    for_update = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    # Only fixed names and placeholders are interpolated; values go as parameters.
    columns = ", ".join(_COLUMNS)
    sql = f"SELECT {columns} FROM {table} WHERE (name, key, rule, shard) IN ({tuples})"  # noqa: S608
    sql += f" ORDER BY name, key, rule, shard{for_update}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for identity in identities for value in identity])
        rows = [Bucket(**dict(zip(_COLUMNS, row, strict=True))) for row in cursor.fetchall()]
    return {(b.name, b.key, b.rule, b.shard): b for b in rows}


def _write(rows: list[Bucket]) -> None:
    table = Bucket._meta.db_table
    assignments = ", ".join(f"{field} = %s" for field in WRITE_FIELDS)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - fixed names
    params = [[getattr(row, field) for field in WRITE_FIELDS] + [row.id] for row in rows]
    with transaction.get_connection().cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


class _MissingRows(Exception):
    """Buckets used for the first time: created in their own transaction, then the take runs
    again (see :func:`rate_limit_take`)."""


def _rows(
    plans: list[_RulePlan], now: float, *, lock: bool, create: bool = False
) -> dict[Identity, Bucket]:
    identities = sorted({identity for plan in plans for identity in plan.identities()})
    rows = _select(identities, lock=lock)
    if len(rows) == len(identities):
        return rows
    if not lock:  # a check writes nothing: a bucket never used is full
        rules = {(p.limit.name, p.key, p.index): p.rule for p in plans}
        for identity in identities:
            if identity not in rows:
                rows[identity] = _new_bucket(identity, rules[identity[:3]], now)
        return rows
    if not create:
        raise _MissingRows
    _create_buckets(plans, now)
    return _select(identities, lock=True)


def _create_buckets(plans: list[_RulePlan], now: float) -> None:
    """Every shard of every rule involved, in one sorted insert; existing rows untouched."""
    buckets = sorted(
        (
            _new_bucket((plan.limit.name, plan.key, plan.index, shard), plan.rule, now)
            for plan in plans
            for shard in range(plan.rule.shards)
        ),
        key=lambda b: (b.name, b.key, b.rule, b.shard),
    )
    Bucket.objects.bulk_create(buckets, ignore_conflicts=True)


def _new_bucket(identity: Identity, rule: r.Rule, now: float) -> Bucket:
    name, key, index, shard = identity
    start = r.initial(rule, shard, now)
    return Bucket(
        name=name,
        key=key,
        rule=index,
        shard=shard,
        value=start.value,
        ts=start.ts,
        period_start=r.usage_period_start(rule, now),
    )


def _decide_rule(
    plan: _RulePlan, buckets: dict[int, r.Bucket], count: float, reserve: bool, now: float
) -> _Outcome:
    rule = plan.rule
    # Roomiest first: it takes alone if it can; with the second one, together.
    order = sorted(plan.shards, key=lambda shard: -buckets[shard].value)
    first = order[0]
    if buckets[first].value + r.EPSILON >= count:
        return _Outcome(ok=True, takes={first: count})
    if len(order) == 2:
        second = order[1]
        available = max(0.0, buckets[first].value) + max(0.0, buckets[second].value)
        if available + r.EPSILON >= count:
            from_first = max(0.0, buckets[first].value)
            return _Outcome(ok=True, takes={first: from_first, second: count - from_first})
    max_reserved = rule.shard_max_reserved(first)
    debt_after = count - buckets[first].value
    if reserve and (max_reserved is None or debt_after <= max_reserved + r.EPSILON):
        after = r.Bucket(buckets[first].value - count, buckets[first].ts)
        return _Outcome(
            ok=True, takes={first: count}, wait=r.seconds_until(rule, first, after, 0.0, now)
        )
    wait = r.seconds_until(rule, first, buckets[first], count, now)
    if len(order) == 2:
        wait = min(wait, _combined_wait(rule, order, buckets, count, now))
    return _Outcome(ok=False, wait=wait)


def _combined_wait(
    rule: r.Rule, shards: list[int], buckets: dict[int, r.Bucket], count: float, now: float
) -> float:
    """When two shards together will hold ``count``."""
    missing = count - sum(max(0.0, buckets[shard].value) for shard in shards)
    rate = sum(rule.shard_rate(shard) for shard in shards)
    if missing <= 0:
        return 0.0
    if rule.kind == r.TOKEN_BUCKET:
        return missing * rule.period / rate
    windows = -(-missing // rate)
    return max(0.0, rule.window_start(now) + windows * rule.period - now)


def _roll_period(row: Bucket, rule: r.Rule, now: float) -> None:
    start = r.usage_period_start(rule, now)
    if start > row.period_start:
        row.period_start, row.used, row.denials = start, 0.0, 0


def _evaluate(
    plans: list[_RulePlan], rows: dict[Identity, Bucket], count: float, reserve: bool, now: float
) -> tuple[Decision, list[Bucket]]:
    """Decide the take and return the rows to write back (empty for a check)."""
    blocked = [
        (row.blocked_until, identity[0])
        for identity, row in rows.items()
        if row.blocked_until > now
    ]
    if blocked:
        until, name = max(blocked)
        return Decision(False, until - now, name, blocked=True), []

    outcomes: list[tuple[_RulePlan, dict[int, r.Bucket], _Outcome]] = []
    for plan in plans:
        buckets = {
            shard: r.refill(plan.rule, shard, _bucket_of(rows[identity]), now)
            for identity, shard in zip(plan.identities(), plan.shards, strict=True)
        }
        outcomes.append((plan, buckets, _decide_rule(plan, buckets, count, reserve, now)))

    denied = [
        (outcome.wait, plan.limit.name, plan) for plan, _, outcome in outcomes if not outcome.ok
    ]
    changed: list[Bucket] = []
    if denied:
        wait, name, _ = max(denied, key=lambda item: item[0])
        for _, _, plan in denied:
            for identity in plan.identities():
                row = rows[identity]
                _roll_period(row, plan.rule, now)
                row.denials += 1
                row.total_denials += 1
                changed.append(row)
        return Decision(False, wait, name), changed

    wait = 0.0
    for plan, buckets, outcome in outcomes:
        wait = max(wait, outcome.wait)
        for identity, shard in zip(plan.identities(), plan.shards, strict=True):
            row = rows[identity]
            bucket = buckets[shard]
            taken = outcome.takes.get(shard, 0.0)
            _roll_period(row, plan.rule, now)
            row.value, row.ts = bucket.value - taken, bucket.ts
            row.used += taken
            changed.append(row)
    return Decision(True, wait), changed


def _bucket_of(row: Bucket) -> r.Bucket:
    return r.Bucket(value=row.value, ts=row.ts)


def rate_limit_take(
    *, names: str | Sequence[LimitRef], key: str = "", count: float = 1, reserve: bool = False
) -> Decision:
    """Take ``count`` tokens from every named limit, all or nothing.

    ``names`` is a limit name, or several; a ``(name, key)`` pair gives that limit its own key
    (``[("bricklink:global", ""), ("bricklink:account", "42")]``). Raises
    :class:`~ratelimit.rules.LimitCannotFit` at once when no amount of waiting could grant it.
    """
    if count <= 0:
        raise ValueError("count must be positive")
    now = clock.now().timestamp()
    plans = _plan(_targets(names, key), count, reserve)
    # Row locks are only ever taken on existing rows, in one sorted order: no deadlock. A first
    # use creates the rows in a short transaction of its own and runs again; inside a caller's
    # transaction that is impossible, so the rows are created there (once per limit and key).
    inside_caller = transaction.get_connection().in_atomic_block
    for _ in range(2):
        try:
            with transaction.atomic(savepoint=False):
                rows = _rows(plans, now, lock=True, create=inside_caller)
                decision, changed = _evaluate(plans, rows, count, reserve, now)
                if changed:
                    _write(changed)
            if not decision.granted:
                RATE_LIMIT_DENIALS.labels(limit=decision.limit).inc()
            return decision
        except _MissingRows:
            with transaction.atomic():
                _create_buckets(plans, now)
    raise RuntimeError("rate limit buckets vanished while being created")  # a concurrent reset


def rate_limit_check(
    *, names: str | Sequence[LimitRef], key: str = "", count: float = 1, reserve: bool = False
) -> Decision:
    """What :func:`rate_limit_take` would answer now, without taking or writing anything."""
    if count <= 0:
        raise ValueError("count must be positive")
    now = clock.now().timestamp()
    plans = _plan(_targets(names, key), count, reserve)
    decision, _ = _evaluate(plans, _rows(plans, now, lock=False), count, reserve, now)
    return decision


def rate_limit_exhaust_until(*, name: str, key: str = "", retry_after: float) -> float:
    """A vendor answered 429: grant nothing from this limit (for this key) for ``retry_after``
    seconds, to every worker, not only the one that saw it. Answers the epoch it lasts until;
    an earlier stop never shortens a later one."""
    limit = limit_get(name)
    now = clock.now().timestamp()
    until = now + max(0.0, retry_after)
    identities = [
        (name, key, index, shard)
        for index, rule in enumerate(limit.rules)
        for shard in range(rule.shards)
    ]
    buckets = Bucket.objects.filter(name=name, key=key)
    if buckets.count() < len(identities):
        with transaction.atomic():
            Bucket.objects.bulk_create(
                [_new_bucket(i, limit.rules[i[2]], now) for i in identities],
                ignore_conflicts=True,
            )
    with transaction.atomic(savepoint=False):
        # Lock in the order every take locks, then write: never a deadlock with a take.
        ids = list(
            buckets.order_by("name", "key", "rule", "shard")
            .select_for_update()
            .values_list("id", flat=True)
        )
        Bucket.objects.filter(id__in=ids).update(
            blocked_until=Greatest("blocked_until", Value(until))
        )
    return until


def rate_limit_reset(*, name: str, key: str | None = None) -> int:
    """Forget a limit's state (for one key, or all): it starts full again."""
    limit_get(name)
    buckets = Bucket.objects.filter(name=name)
    if key is not None:
        buckets = buckets.filter(key=key)
    deleted, _ = buckets.delete()
    return deleted
