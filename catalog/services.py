"""Writes of the catalog: the refresh outbox and what its workers do.

The life of a refresh:

1. **enqueue** — one row per resource while a refresh is pending or in flight (a partial
   unique constraint, so it holds under any concurrency); asking again returns that row and
   raises its priority if the new request is more urgent. A HIGH row is sent to the urgent
   queue after commit.
2. **process** — in one transaction: claim the row (a conditional UPDATE that only one
   worker can win, with a fresh claim token and a lease), ask the shared circuit breaker, take
   the BrickLink tokens. Denied → back to pending at the retry time plus jitter, attempt not
   counted. Then call BrickLink outside any transaction, and in one transaction complete the
   row — only if the claim token still matches (an old claim cannot complete a reclaimed
   row) — and upsert everything.
3. **drain** — every few minutes: reclaim in-flight rows whose lease expired (their worker
   died) and send due pending rows to the workers, highest priority and oldest first.

A Celery message is only a hint to look at a row: PostgreSQL is the record.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Least

from core import clock
from core.metrics import record_backoff
from marketplaces.bricklink import BrickLinkClient, FullPriceGuide, Item, KnownColor
from marketplaces.bricklink import PriceGuide as GuidePart
from marketplaces.errors import (
    AuthError,
    MarketplaceError,
    NotFound,
    RateLimited,
    TransientError,
)
from outbox.leases import lease_held
from ratelimit.breaker import breaker_allow, breaker_record_failure, breaker_record_success
from ratelimit.rules import LimitCannotFit
from ratelimit.selectors import rate_limit_status
from ratelimit.services import rate_limit_exhaust_until, rate_limit_take

from .models import (
    ACTIVE_STATUSES,
    Category,
    Color,
    DrainRun,
    JobStatus,
    Kind,
    MissingPart,
    Part,
    PartColor,
    PartColorList,
    PriceGuide,
    Priority,
    RefreshJob,
    resource_key,
)

logger = logging.getLogger(__name__)

BREAKER = "bricklink"
GLOBAL_LIMIT = "bricklink:global"
BACKGROUND_LIMIT = "bricklink:background"
CALLS = {Kind.PART: 1, Kind.PART_COLORS: 1, Kind.PRICE_GUIDE: 4}
SET_NUMBER = re.compile(r"^\d+-\d+$")
# BrickLink numbers printed parts with pb/pr/px + digits (3001pr0001, 973pb0001) and names
# them "... Pattern".
PRINTED_NUMBER = re.compile(r"(pb|pr|px)\d", re.IGNORECASE)
PRINTED_NAME = re.compile(r"\bpattern\b", re.IGNORECASE)


@dataclass(frozen=True)
class Resource:
    kind: str
    no: str
    color_id: int | None = None

    @property
    def key(self) -> str:
        return resource_key(self.kind, self.no, self.color_id)


@dataclass(frozen=True)
class EnqueueResult:
    job_id: int
    created: bool
    status: str
    priority: int


# --- enqueue -------------------------------------------------------------------------------------


def read_cache_key(resource: Resource) -> str:
    return f"catalog:envelope:{resource.key}"


def _forget_cached(keys: Iterable[str]) -> None:
    """Drop cached envelopes once the transaction commits (a refresh is now pending)."""
    keys = list(keys)
    transaction.on_commit(lambda: caches["catalog"].delete_many(keys))


def _db(field: str, value: Any) -> Any:
    """A value for raw SQL, adapted as the ORM would (SQLite keeps UUIDs as hex and datetimes
    as naive UTC text; PostgreSQL takes them as they are)."""
    return RefreshJob._meta.get_field(field).get_db_prep_value(value, connection)


def _insert_jobs(resources: list[Resource], priority: int, now: datetime) -> dict[str, int]:
    """INSERT the rows that do not collide with an active refresh; answers resource -> id of
    the rows this statement created. One statement: ``ON CONFLICT DO NOTHING`` lets the partial
    unique constraint decide, under any concurrency."""
    if not resources:
        return {}
    table = RefreshJob._meta.db_table
    columns = (
        "kind",
        "no",
        "color_id",
        "resource",
        "priority",
        "status",
        "attempt",
        "deferrals",
        "next_attempt_at",
        "created_at",
        "updated_at",
        "dispatched_at",
    )
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params: list[Any] = []
    at = _db("created_at", now)
    # A HIGH row is sent to the workers as this commits; the others wait for the drain.
    sent = at if priority >= Priority.HIGH else None
    for resource in resources:
        params += [
            resource.kind,
            resource.no,
            resource.color_id,
            resource.key,
            priority,
            JobStatus.PENDING,
            0,
            0,
            at,
            at,
            at,
            sent,
        ]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(resources))} "  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING id, resource"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {key: job_id for job_id, key in cursor.fetchall()}


def refresh_enqueue_many(
    *, resources: Iterable[Resource], priority: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Enqueue refreshes; answers (created resource -> id, already active resource -> id).

    An active row that is less urgent is raised to ``priority``; a row that becomes HIGH (or
    is created HIGH) is sent to the urgent queue after commit.
    """
    unique = list({resource.key: resource for resource in resources}.values())
    now = clock.now()
    with transaction.atomic():
        created = _insert_jobs(unique, priority, now)
        existing = dict(
            RefreshJob.objects.filter(
                resource__in=[r.key for r in unique if r.key not in created],
                status__in=ACTIVE_STATUSES,
            ).values_list("resource", "id")
        )
        raised = _raise(list(existing.values()), priority, now)
        _forget_cached(read_cache_key(r) for r in unique)
        if priority == Priority.HIGH:
            urgent = [*created.values(), *raised]
            transaction.on_commit(lambda: _publish_many(urgent, Priority.HIGH))
    return created, existing


def _raise(job_ids: list[int], priority: int, now: datetime) -> list[int]:
    """Raise the pending ones of ``job_ids`` that are less urgent than ``priority``."""
    if not job_ids:
        return []
    to_raise = RefreshJob.objects.filter(
        id__in=job_ids, status=JobStatus.PENDING, priority__lt=priority
    )
    raised = list(to_raise.values_list("id", flat=True))
    changes: dict[str, Any] = {"priority": priority, "updated_at": now}
    if priority == Priority.HIGH:  # a user is waiting: do not sit out a backoff
        changes["next_attempt_at"] = Least(F("next_attempt_at"), now)
        changes["dispatched_at"] = now
    RefreshJob.objects.filter(id__in=raised).update(**changes)
    return raised


def refresh_raise(*, resource: Resource) -> bool:
    """A reader needs ``resource`` now: raise its queued refresh to HIGH. Never creates a row
    (if the refresh finished meanwhile, its data is what the next read gets)."""
    active = RefreshJob.objects.filter(resource=resource.key, status__in=ACTIVE_STATUSES)
    return bool(refresh_raise_to_high(job_ids=active.values_list("id", flat=True)))


def refresh_enqueue(*, resource: Resource, priority: int) -> EnqueueResult:
    """Enqueue one refresh (or find the active one). See :func:`refresh_enqueue_many`."""
    for _ in range(3):
        created, existing = refresh_enqueue_many(resources=[resource], priority=priority)
        job_id = created.get(resource.key) or existing.get(resource.key)
        if job_id is None:
            continue  # the active row finished between our insert and our read: insert again
        job = RefreshJob.objects.values("status", "priority").get(pk=job_id)
        return EnqueueResult(job_id, resource.key in created, job["status"], job["priority"])
    raise RuntimeError(f"could not enqueue {resource.key}")


def _publish_many(job_ids: Iterable[int], priority: int) -> None:
    for job_id in job_ids:
        _publish(job_id, priority)


def _publish(job_id: int, priority: int, countdown: float | None = None) -> None:
    """Send a hint to the workers. If the broker is down the row still waits in PostgreSQL
    and the drain sends it, so a failure here is logged, not raised."""
    from .tasks import process_refresh

    queue = "urgent" if priority >= Priority.HIGH else "default"
    try:
        process_refresh.apply_async(args=[job_id], queue=queue, countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the drain recovers the row
        logger.warning(
            "could not publish refresh #%s (%s); the drain will send it",
            job_id,
            type(exc).__name__,
            extra={"job_id": job_id},
        )


# --- process -------------------------------------------------------------------------------------


@dataclass
class _Claim:
    job_id: int
    token: uuid.UUID
    resource: Resource
    priority: int
    attempt: int
    drain_run: int | None = None
    # A price guide's parts fetched by earlier attempts (RefreshJob.partial), and by this one
    # as they arrive.
    known: dict[tuple[str, str], GuidePart] = field(default_factory=dict)


# A price guide's four parts as RefreshJob.partial keeps them: "N:stock" -> the part's fields.
_GUIDE_DECIMALS = ("min_price", "max_price", "avg_price", "qty_avg_price")


def _guides_known(partial: dict | None) -> dict[tuple[str, str], GuidePart]:
    known = {}
    for key, fields in (partial or {}).items():
        new_or_used, guide_type = key.split(":")
        decimals = {name: Decimal(fields[name]) for name in _GUIDE_DECIMALS}
        known[new_or_used, guide_type] = GuidePart(**{**fields, **decimals})
    return known


def _guides_partial(known: dict[tuple[str, str], GuidePart]) -> dict | None:
    return {f"{nu}:{gt}": asdict(part) for (nu, gt), part in known.items()} or None


def _claim(job_id: int, now: datetime) -> _Claim | None:
    """Win the row or leave: one conditional UPDATE only one worker can win."""
    token = uuid.uuid4()
    lease = now + timedelta(seconds=settings.CATALOG_LEASE_SECONDS)
    table = RefreshJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claim_token = %s, lease_expires_at = %s, "  # noqa: S608
            "updated_at = %s WHERE id = %s AND status = %s AND next_attempt_at <= %s "
            "RETURNING kind, no, color_id, priority, attempt, drain_run_id, partial",
            [
                JobStatus.INFLIGHT,
                _db("claim_token", token),
                _db("lease_expires_at", lease),
                _db("updated_at", now),
                job_id,
                JobStatus.PENDING,
                _db("next_attempt_at", now),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    kind, no, color_id, priority, attempt, drain_run, partial = row
    partial = RefreshJob._meta.get_field("partial").from_db_value(partial, None, connection)
    return _Claim(
        job_id,
        token,
        Resource(kind, no, color_id),
        priority,
        attempt,
        drain_run,
        _guides_known(partial),
    )


def _fenced(claim: _Claim) -> Any:
    """The row, only while this claim still holds it."""
    return RefreshJob.objects.filter(
        pk=claim.job_id, claim_token=claim.token, status=JobStatus.INFLIGHT
    )


def _jitter(wait: float) -> float:
    return random.uniform(0, min(settings.CATALOG_RETRY_JITTER_SECONDS, max(0.5, wait * 0.2)))  # noqa: S311


def _put_back(
    claim: _Claim,
    wait: float,
    now: datetime,
    *,
    attempt: int | None = None,
    error: dict | None = None,
    partial: dict | None = None,
) -> float:
    """Back to pending after ``wait`` (+ jitter), keeping what this attempt fetched
    (``partial``; None leaves the row's as it is). Fenced; answers the delay actually set."""
    delay = wait + _jitter(wait)
    due = now + timedelta(seconds=delay)
    # A short wait becomes a delayed message (_requeue_later): sent, for when it is due. A
    # long one waits for the drain.
    sent = due if delay <= settings.CATALOG_REQUEUE_MAX_DELAY_SECONDS else None
    changes: dict[str, Any] = {
        "status": JobStatus.PENDING,
        "claim_token": None,
        "lease_expires_at": None,
        "next_attempt_at": due,
        "updated_at": now,
        "dispatched_at": sent,
        "drain_run": None,
    }
    if attempt is None:
        changes["deferrals"] = F("deferrals") + 1
    else:
        changes["attempt"] = attempt
    if error is not None:
        changes["last_error"] = error
    if partial is not None:
        changes["partial"] = partial
    if not _fenced(claim).update(**changes):
        return -1.0
    record_backoff(source="refresh", reason="deferred" if attempt is None else "retry")
    return delay


def _requeue_later(claim: _Claim, delay: float) -> None:
    """Short waits become a delayed task; long ones are the drain's (nothing sleeps here)."""
    if 0 <= delay <= settings.CATALOG_REQUEUE_MAX_DELAY_SECONDS:
        job_id, priority = claim.job_id, claim.priority
        transaction.on_commit(lambda: _publish(job_id, priority, countdown=delay))


def _limits_for(priority: int) -> list[str]:
    if priority <= Priority.LOW:
        return [GLOBAL_LIMIT, BACKGROUND_LIMIT]
    return [GLOBAL_LIMIT]


@dataclass(frozen=True)
class ProcessOutcome:
    outcome: str  # not_claimed | deferred | succeeded | retrying | failed | lost_claim
    job_id: int
    detail: str = ""
    kind: str = ""


# Which counter of the drain run that sent a row its outcome moves.
_DRAIN_COUNTERS = {
    "succeeded": "succeeded",
    "retrying": "failed",
    "failed": "failed",
    "deferred": "deferred",
}


def refresh_process(*, job_id: int) -> ProcessOutcome:
    """Run one refresh if it is due and nobody else holds it. Idempotent: a duplicate or late
    message finds nothing to claim."""
    now = clock.now()
    with transaction.atomic():  # the claim and the admission commit together
        claim = _claim(job_id, now)
        if claim is None:
            return ProcessOutcome("not_claimed", job_id)
        refused, gate = _admit(claim, now)
    if refused:
        outcome = refused
    else:
        with lease_held(
            model=RefreshJob, token=claim.token, seconds=settings.CATALOG_LEASE_SECONDS
        ):
            outcome = _call(claim, gate)
    counter = _DRAIN_COUNTERS.get(outcome.outcome)
    if claim.drain_run and counter:
        DrainRun.objects.filter(pk=claim.drain_run).update(**{counter: F(counter) + 1})
    return outcome


def _admit(claim: _Claim, now: datetime) -> tuple[ProcessOutcome | None, Any]:
    """The breaker and the rate limits, before any call: (outcome if refused, the gate)."""
    job_id, kind = claim.job_id, claim.resource.kind
    gate = breaker_allow(name=BREAKER, probe_timeout=settings.CATALOG_LEASE_SECONDS)
    if not gate.allowed:
        delay = _put_back(claim, gate.retry_after, now)
        _requeue_later(claim, delay)
        return ProcessOutcome("deferred", job_id, "circuit breaker open", kind), gate
    try:
        # Only the calls still to make: a price guide's parts fetched earlier are kept.
        count = CALLS[kind] - len(claim.known)
        decision = rate_limit_take(names=_limits_for(claim.priority), count=count)
    except LimitCannotFit as exc:
        # Configuration: no amount of waiting helps. Fail loudly, do not loop.
        logger.error("refresh #%s can never run: %s", job_id, exc)
        error = {"code": "configuration", "message": str(exc), "at": _iso_now(now)}
        _fail(claim, error, now)
        return ProcessOutcome("failed", job_id, str(exc), kind), gate
    if not decision.granted:
        delay = _put_back(claim, decision.retry_after, now)
        _requeue_later(claim, delay)
        return ProcessOutcome("deferred", job_id, f"rate limit {decision.limit}", kind), gate
    return None, gate


def _call(claim: _Claim, gate: Any) -> ProcessOutcome:
    """Fetch from BrickLink and store, fenced by the claim."""
    job_id = claim.job_id
    try:
        payload = _fetch(claim.resource, claim.known)
    except MarketplaceError as exc:
        return _failed_call(claim, exc, partial=_guides_partial(claim.known))
    except Exception as exc:
        # A bug, not BrickLink: count an attempt so a poison row ends failed, not looping.
        logger.exception("refresh #%s crashed", job_id, extra={"job_id": job_id})
        error = TransientError(f"internal error ({type(exc).__name__})", provider="brickops")
        return _failed_call(claim, error, upstream=False)

    done = clock.now()
    with transaction.atomic():
        finished = _fenced(claim).update(
            status=JobStatus.SUCCEEDED,
            claim_token=None,
            lease_expires_at=None,
            processed_at=done,
            updated_at=done,
            partial=None,
        )
        if not finished:
            logger.warning(
                "refresh #%s finished after its claim was lost (lease expired and reclaimed); "
                "its result is dropped",
                job_id,
                extra={"job_id": job_id},
            )
            return ProcessOutcome("lost_claim", job_id, kind=claim.resource.kind)
        _upsert(claim.resource, payload, done)
        _forget_cached([read_cache_key(claim.resource)])
    if not gate.clean:
        breaker_record_success(name=BREAKER)
    return ProcessOutcome("succeeded", job_id, kind=claim.resource.kind)


def _iso_now(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _error_record(exc: MarketplaceError, at: datetime) -> dict[str, Any]:
    return {**exc.as_dict(), "at": _iso_now(at)}


def _failed_call(
    claim: _Claim, exc: MarketplaceError, *, upstream: bool = True, partial: dict | None = None
) -> ProcessOutcome:
    now = clock.now()
    error = _error_record(exc, now)
    job_id = claim.job_id
    extra = {"job_id": job_id, "resource": claim.resource.key, "error_code": exc.code}
    if isinstance(exc, RateLimited):
        # Every worker stops until BrickLink's time, not only this one.
        rate_limit_exhaust_until(name=GLOBAL_LIMIT, retry_after=exc.retry_after)
        with transaction.atomic():
            delay = _put_back(claim, exc.retry_after, now, error=error, partial=partial)
            _requeue_later(claim, delay)
        logger.warning("BrickLink rate-limited us for %.0fs", exc.retry_after, extra=extra)
        return ProcessOutcome("deferred", job_id, "BrickLink 429", claim.resource.kind)

    if exc.retryable:
        if upstream:
            opened = breaker_record_failure(
                name=BREAKER,
                threshold=settings.CATALOG_BREAKER_THRESHOLD,
                cooldown=settings.CATALOG_BREAKER_COOLDOWN_SECONDS,
            )
            if opened:
                logger.warning("circuit breaker %s opened", BREAKER, extra=extra)
        attempt = claim.attempt + 1
        if attempt < settings.CATALOG_MAX_ATTEMPTS:
            wait = min(
                settings.CATALOG_RETRY_BASE_SECONDS * 2 ** (attempt - 1),
                settings.CATALOG_RETRY_CAP_SECONDS,
            )
            with transaction.atomic():
                delay = _put_back(claim, wait, now, attempt=attempt, error=error, partial=partial)
                _requeue_later(claim, delay)
            logger.info("refresh #%s attempt %s failed: %s", job_id, attempt, exc, extra=extra)
            return ProcessOutcome("retrying", job_id, str(exc), claim.resource.kind)
        _fail(claim, error, now, attempt=attempt)
        logger.warning(
            "refresh #%s failed after %s attempts: %s", job_id, attempt, exc, extra=extra
        )
        return ProcessOutcome("failed", job_id, str(exc), claim.resource.kind)

    with transaction.atomic():
        _fail(claim, error, now)
        if isinstance(exc, NotFound):
            MissingPart.objects.update_or_create(
                no=claim.resource.no, defaults={"confirmed_at": now}
            )
            _forget_cached(read_cache_key(Resource(kind, claim.resource.no)) for kind in Kind)
    if isinstance(exc, AuthError):
        logger.error(
            "BrickLink refused the platform's credentials (configuration error): %s",
            exc,
            extra=extra,
        )
    else:
        logger.info("refresh #%s failed for good: %s", job_id, exc, extra=extra)
    return ProcessOutcome("failed", job_id, str(exc), claim.resource.kind)


def _fail(claim: _Claim, error: dict[str, Any], now: datetime, *, attempt: int | None = None):
    changes: dict[str, Any] = {
        "status": JobStatus.FAILED,
        "claim_token": None,
        "lease_expires_at": None,
        "last_error": error,
        "processed_at": now,
        "updated_at": now,
        "partial": None,
    }
    if attempt is not None:
        changes["attempt"] = attempt
    return _fenced(claim).update(**changes)


def item_type_of(no: str) -> str:
    """Sets carry a ``-N`` suffix (10030-1); everything else is asked for as a PART."""
    return "SET" if SET_NUMBER.match(no) else "PART"


def _fetch(resource: Resource, known: dict[tuple[str, str], GuidePart]) -> Any:
    client = BrickLinkClient.platform()
    item_type = item_type_of(resource.no)
    if resource.kind == Kind.PART:
        return client.item(resource.no, item_type)
    if resource.kind == Kind.PART_COLORS:
        return client.known_colors(resource.no, item_type)
    return client.full_price_guide(
        resource.no,
        color_id=resource.color_id,
        currency_code=settings.CATALOG_CURRENCY,
        item_type=item_type,
        known=known,
    )


# --- upserts -------------------------------------------------------------------------------------


def is_printed(no: str, name: str) -> bool:
    return bool(PRINTED_NUMBER.search(no) or PRINTED_NAME.search(name))


def part_upsert(*, no: str, item: Item, fetched_at: datetime) -> None:
    fields = {
        "name": item.name[:500],
        "type": item.type or item_type_of(no),
        "category_id": item.category_id,
        "image_url": item.image_url[:500],
        "thumbnail_url": item.thumbnail_url[:500],
        "weight_g": item.weight,
        "dim_x": item.dim_x,
        "dim_y": item.dim_y,
        "dim_z": item.dim_z,
        "year_released": item.year_released,
        "is_obsolete": item.is_obsolete,
        "is_printed": is_printed(no, item.name),
        "alternate_no": item.alternate_no[:200],
        "description": item.description,
        "last_fetched": fetched_at,
    }
    Part.objects.bulk_create(
        [Part(no=no, **fields)],
        update_conflicts=True,
        unique_fields=["no"],
        update_fields=list(fields),
    )
    MissingPart.objects.filter(no=no).delete()


def part_colors_upsert(*, no: str, colors: list[KnownColor], fetched_at: datetime) -> None:
    PartColorList.objects.bulk_create(
        [PartColorList(no=no, last_fetched=fetched_at)],
        update_conflicts=True,
        unique_fields=["no"],
        update_fields=["last_fetched"],
    )
    keep = {color.color_id for color in colors}
    PartColor.objects.filter(color_list_id=no).exclude(color_id__in=keep).delete()
    PartColor.objects.bulk_create(
        [PartColor(color_list_id=no, color_id=c.color_id, quantity=c.quantity) for c in colors],
        update_conflicts=True,
        unique_fields=["color_list", "color_id"],
        update_fields=["quantity"],
    )
    MissingPart.objects.filter(no=no).delete()


def price_guide_upsert(*, no: str, guide: FullPriceGuide, fetched_at: datetime) -> None:
    rows = [
        PriceGuide(
            no=no,
            color_id=guide.color_id,
            new_or_used=part.new_or_used,
            guide_type=part.guide_type,
            currency_code=guide.currency_code,
            min_price=part.min_price,
            max_price=part.max_price,
            avg_price=part.avg_price,
            qty_avg_price=part.qty_avg_price,
            unit_quantity=part.unit_quantity,
            total_quantity=part.total_quantity,
            last_fetched=fetched_at,
        )
        for part in (guide.new_stock, guide.new_sold, guide.used_stock, guide.used_sold)
    ]
    PriceGuide.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["no", "color_id", "currency_code", "new_or_used", "guide_type"],
        update_fields=[
            "min_price",
            "max_price",
            "avg_price",
            "qty_avg_price",
            "unit_quantity",
            "total_quantity",
            "last_fetched",
        ],
    )
    MissingPart.objects.filter(no=no).delete()


def _upsert(resource: Resource, payload: Any, fetched_at: datetime) -> None:
    if resource.kind == Kind.PART:
        part_upsert(no=resource.no, item=payload, fetched_at=fetched_at)
    elif resource.kind == Kind.PART_COLORS:
        part_colors_upsert(no=resource.no, colors=payload, fetched_at=fetched_at)
    else:
        price_guide_upsert(no=resource.no, guide=payload, fetched_at=fetched_at)


# --- drain ---------------------------------------------------------------------------------------


def refresh_reclaim_expired(*, now: datetime | None = None, send: bool = False) -> int:
    """Put back in-flight rows whose lease expired -- their worker died, since a live worker
    renews its lease (outbox/leases.py) -- and, with ``send``, send them to the workers at
    once (else the drain that called this sends them). The lost run counts as an attempt, so
    a row that kills its worker every time ends failed instead of looping. Answers how many
    rows it took back."""
    now = now or clock.now()
    expired = RefreshJob.objects.filter(status=JobStatus.INFLIGHT, lease_expires_at__lt=now)
    error = {
        "code": "lease_expired",
        "provider": "brickops",
        "http_status": None,
        "meta_code": None,
        "message": "the worker running this refresh stopped before finishing",
        "at": now.isoformat().replace("+00:00", "Z"),
    }
    reclaimed, again = 0, []
    for job_id, attempt, priority in expired.values_list("id", "attempt", "priority"):
        gone = attempt + 1 >= settings.CATALOG_MAX_ATTEMPTS
        changes: dict[str, Any] = {
            "status": JobStatus.FAILED if gone else JobStatus.PENDING,
            "attempt": attempt + 1,
            "claim_token": None,
            "lease_expires_at": None,
            "next_attempt_at": now,
            "updated_at": now,
            "dispatched_at": now if send and not gone else None,
            "drain_run": None,
            "last_error": error,
        }
        if gone:
            changes.update(processed_at=now, partial=None)
        # Conditional on the lease: a worker finishing right now keeps its row.
        taken = RefreshJob.objects.filter(
            pk=job_id, status=JobStatus.INFLIGHT, lease_expires_at__lt=now
        ).update(**changes)
        reclaimed += taken
        if taken and send and not gone:
            again.append((job_id, priority))
    for job_id, priority in again:
        _publish(job_id, priority)
    return reclaimed


def refresh_resend_lost(*, now: datetime | None = None) -> int:
    """Send again the pending rows that were sent to the workers, became due, and are still
    pending well after: their message was lost (a worker died holding it). Rows that were
    never sent (NORMAL and LOW ones waiting for the drain) are the drain's."""
    now = now or clock.now()
    before = now - timedelta(seconds=settings.CATALOG_REDISPATCH_SECONDS)
    with transaction.atomic():
        lost = list(
            RefreshJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.PENDING, dispatched_at__lt=before, next_attempt_at__lt=before)
            .order_by("-priority", "next_attempt_at", "id")
            .values_list("id", "priority")[: settings.CATALOG_DRAIN_BATCH_SIZE]
        )
        RefreshJob.objects.filter(id__in=[job_id for job_id, _ in lost]).update(dispatched_at=now)
    for job_id, priority in lost:
        _publish(job_id, priority)
    return len(lost)


def refresh_sweep() -> tuple[int, int]:
    """The outbox sweep's part for refreshes (every OUTBOX_SWEEP_SECONDS): rows of dead
    workers taken back, lost messages sent again. Answers (reclaimed, resent)."""
    now = clock.now()
    return refresh_reclaim_expired(now=now, send=True), refresh_resend_lost(now=now)


def refresh_drain(*, batch_size: int | None = None) -> DrainRun:
    """Reclaim expired leases, then send due pending rows to the workers (priority, then age),
    up to ``batch_size``. Rows are claimed with ``SKIP LOCKED`` so drains running at once
    never send the same row; a sent row is sent again only if still pending much later."""
    started = clock.now()
    run = DrainRun.objects.create(started_at=started)
    run.reclaimed = refresh_reclaim_expired(now=started)
    batch = batch_size or settings.CATALOG_DRAIN_BATCH_SIZE
    resend_before = started - timedelta(seconds=settings.CATALOG_REDISPATCH_SECONDS)
    with transaction.atomic():
        due = (
            RefreshJob.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.PENDING, next_attempt_at__lte=started)
            .exclude(dispatched_at__gte=resend_before)
            .order_by("-priority", "next_attempt_at", "id")
            .values_list("id", "priority")[:batch]
        )
        due = list(due)
        RefreshJob.objects.filter(id__in=[job_id for job_id, _ in due]).update(
            dispatched_at=started, drain_run=run
        )
    for job_id, priority in due:
        _publish(job_id, priority)
    finished = clock.now()
    run.dispatched = len(due)
    run.finished_at = finished
    run.duration_ms = int((finished - started).total_seconds() * 1000)
    run.save()
    return run


# --- operator actions (the admin) ----------------------------------------------------------------


def refresh_retry_now(*, job_ids: Iterable[int]) -> tuple[int, int]:
    """Run these rows now: a pending row skips its backoff, a failed or succeeded row becomes
    pending again with its attempts reset. A row whose resource already has another active
    refresh, or that is in flight, is left alone. Answers (retried, skipped)."""
    now = clock.now()
    ids = list(job_ids)
    retried: list[tuple[int, int]] = []
    for job in RefreshJob.objects.filter(id__in=ids).values("id", "status", "priority"):
        rows = RefreshJob.objects.filter(pk=job["id"], status=job["status"])
        if job["status"] == JobStatus.PENDING:
            changes: dict[str, Any] = {"next_attempt_at": now, "deferrals": 0, "dispatched_at": now}
        elif job["status"] in (JobStatus.FAILED, JobStatus.SUCCEEDED):
            changes = {
                "status": JobStatus.PENDING,
                "attempt": 0,
                "deferrals": 0,
                "next_attempt_at": now,
                "processed_at": None,
                "dispatched_at": now,
                "drain_run": None,
                "partial": None,
            }
        else:
            continue  # in flight: its worker holds it
        try:
            with transaction.atomic():
                updated = rows.update(**changes, updated_at=now)
        except IntegrityError:  # another refresh of the same resource is active
            continue
        if updated:
            retried.append((job["id"], job["priority"]))
    for job_id, priority in retried:
        transaction.on_commit(lambda job_id=job_id, priority=priority: _publish(job_id, priority))
    return len(retried), len(ids) - len(retried)


def refresh_raise_to_high(*, job_ids: Iterable[int]) -> int:
    """Raise these pending rows to HIGH (and out of any backoff); answers how many moved."""
    with transaction.atomic():
        raised = _raise(list(job_ids), Priority.HIGH, clock.now())
        if raised:
            transaction.on_commit(lambda: _publish_many(raised, Priority.HIGH))
    return len(raised)


def refresh_mark_failed(*, job_ids: Iterable[int], by: str) -> int:
    """Give these pending or in-flight rows up. An in-flight row's worker is fenced out: its
    result is dropped when it finishes. Answers how many were marked."""
    now = clock.now()
    error = {
        "code": "marked_failed",
        "provider": "brickops",
        "http_status": None,
        "meta_code": None,
        "message": f"marked failed by {by}",
        "at": _iso_now(now),
    }
    return RefreshJob.objects.filter(id__in=list(job_ids), status__in=ACTIVE_STATUSES).update(
        status=JobStatus.FAILED,
        claim_token=None,
        lease_expires_at=None,
        last_error=error,
        processed_at=now,
        updated_at=now,
        partial=None,
    )


# --- background freshness, cleanup ---------------------------------------------------------------


def refresh_enqueue_stale(*, limit: int | None = None) -> int:
    """Enqueue LOW refreshes of data that is no longer fresh, oldest first, no more than the
    background share of today's quota has left. Answers how many were queued."""
    now = clock.now()
    [status] = rate_limit_status(name=BACKGROUND_LIMIT)
    budget = int(max(0.0, status.remaining))
    if limit is not None:
        budget = min(budget, limit)
    if budget <= 0:
        return 0
    stale_before = now - timedelta(days=settings.CATALOG_FRESH_DAYS)
    candidates: list[tuple[datetime, Resource]] = []
    active = RefreshJob.objects.filter(status__in=ACTIVE_STATUSES)
    busy = set(active.values_list("resource", flat=True))
    for no, fetched in (
        Part.objects.filter(last_fetched__lt=stale_before)
        .order_by("last_fetched")
        .values_list("no", "last_fetched")[:budget]
    ):
        candidates.append((fetched, Resource(Kind.PART, no)))
    for no, fetched in (
        PartColorList.objects.filter(last_fetched__lt=stale_before)
        .order_by("last_fetched")
        .values_list("no", "last_fetched")[:budget]
    ):
        candidates.append((fetched, Resource(Kind.PART_COLORS, no)))
    guides = (
        PriceGuide.objects.filter(
            last_fetched__lt=stale_before,
            new_or_used="N",
            guide_type="stock",
            currency_code=settings.CATALOG_CURRENCY,
        )
        .order_by("last_fetched")
        .values_list("no", "color_id", "last_fetched")[: max(1, budget // 4)]
    )
    for no, color_id, fetched in guides:
        candidates.append((fetched, Resource(Kind.PRICE_GUIDE, no, color_id)))
    candidates.sort(key=lambda item: item[0])
    chosen: list[Resource] = []
    spent = 0
    for _, resource in candidates:
        cost = CALLS[resource.kind]
        if resource.key in busy or spent + cost > budget:
            continue
        chosen.append(resource)
        spent += cost
    created, _ = refresh_enqueue_many(resources=chosen, priority=Priority.LOW)
    logger.info("background freshness: queued %s refreshes (%s calls)", len(created), spent)
    return len(created)


def refresh_cleanup(*, older_than_days: int | None = None, batch: int | None = None) -> int:
    """Delete finished rows older than the retention, a batch at a time (short locks)."""
    days = older_than_days if older_than_days is not None else settings.CATALOG_CLEANUP_AFTER_DAYS
    size = batch or settings.CATALOG_CLEANUP_BATCH
    before = clock.now() - timedelta(days=days)
    finished = RefreshJob.objects.filter(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED], processed_at__lt=before
    )
    deleted = 0
    while True:
        ids = list(finished.values_list("id", flat=True)[:size])
        if not ids:
            break
        deleted += RefreshJob.objects.filter(id__in=ids).delete()[0]
    DrainRun.objects.filter(started_at__lt=before).delete()
    MissingPart.objects.filter(
        confirmed_at__lt=clock.now() - timedelta(days=settings.CATALOG_NOT_FOUND_DAYS)
    ).delete()
    return deleted


# --- reference data ------------------------------------------------------------------------------


def reference_sync(*, progress=None) -> tuple[int, int]:
    """Colors and categories from BrickLink (2 calls). ``progress(done, total)`` is told as
    rows are written. Raises the client's errors (RateLimited when the quota is gone)."""
    decision = rate_limit_take(names=GLOBAL_LIMIT, count=2)
    if not decision.granted:
        raise RateLimited(
            f"the {decision.limit} limit has no room now",
            retry_after=decision.retry_after,
            provider="brickops",
        )
    client = BrickLinkClient.platform()
    colors = client.colors()
    categories = client.categories()
    now = clock.now()
    total = len(colors) + len(categories)
    with transaction.atomic():
        Color.objects.bulk_create(
            [
                Color(
                    color_id=c.color_id,
                    name=c.color_name,
                    code=c.color_code,
                    type=c.color_type,
                    last_fetched=now,
                )
                for c in colors
            ],
            update_conflicts=True,
            unique_fields=["color_id"],
            update_fields=["name", "code", "type", "last_fetched"],
        )
        if progress:
            progress(len(colors), total)
        Category.objects.bulk_create(
            [
                Category(
                    category_id=c.category_id,
                    name=c.category_name,
                    parent_id=c.parent_id,
                    last_fetched=now,
                )
                for c in categories
            ],
            update_conflicts=True,
            unique_fields=["category_id"],
            update_fields=["name", "parent_id", "last_fetched"],
        )
        if progress:
            progress(total, total)
    return len(colors), len(categories)
