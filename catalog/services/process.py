"""Running one refresh: claim, admit, call BrickLink, store -- fenced by the claim.

1. In one transaction: claim the row (outbox/claims.py: a token and a lease, the row turns
   in flight), ask the shared circuit breaker, take the BrickLink tokens the call needs. A
   refusal puts the row back for the time the breaker or the limit says, plus jitter, and is
   not an attempt.
2. Call BrickLink outside any transaction (the worker's heartbeat keeps the lease alive).
3. In one transaction: finish the row -- only while the claim still holds it -- and upsert
   what was fetched. A failure backs off by the refresh policy (outbox/policy.py), or fails
   for good: a 404 marks the part missing, 401/403 are configuration errors.

A price guide is four calls: the parts an attempt fetched before failing are kept on the row
(``partial``), and a retry pays for and asks for only the rest.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from catalog.domain import (
    BACKGROUND_LIMIT,
    BREAKER,
    CALLS,
    GLOBAL_LIMIT,
    Resource,
    item_type_of,
    read_cache_key,
)
from catalog.models import DrainRun, JobStatus, Kind, MissingPart, Priority
from catalog.work import REFRESHES
from core import clock
from marketplaces.bricklink import BrickLinkClient, PriceGuidePart
from marketplaces.errors import AuthError, MarketplaceError, NotFound, RateLimited, TransientError
from outbox.claims import (
    Claim,
    claim,
    error_record,
    finish,
    give_up,
    put_back,
    retry_or_give_up,
)
from outbox.leases import lease_held
from ratelimit.breaker import (
    BreakerDecision,
    breaker_allow,
    breaker_record_failure,
    breaker_record_success,
)
from ratelimit.rules import LimitCannotFit
from ratelimit.services import rate_limit_exhaust_until, rate_limit_take

from .enqueue import forget_cached
from .upserts import upsert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOutcome:
    outcome: str  # not_claimed | deferred | succeeded | retrying | failed | lost_claim
    job_id: int
    detail: str = ""
    kind: str = ""


# What a price guide's four parts are kept as on the row: "N:stock" -> the part's fields.
_GUIDE_DECIMALS = ("min_price", "max_price", "avg_price", "qty_avg_price")
GuideParts = dict[tuple[str, str], PriceGuidePart]


def _guide_parts(partial: dict | None) -> GuideParts:
    known = {}
    for key, fields in (partial or {}).items():
        new_or_used, guide_type = key.split(":")
        decimals = {name: Decimal(fields[name]) for name in _GUIDE_DECIMALS}
        known[new_or_used, guide_type] = PriceGuidePart(**{**fields, **decimals})
    return known


def _partial(known: GuideParts) -> dict | None:
    return {f"{nu}:{gt}": asdict(part) for (nu, gt), part in known.items()} or None


@dataclass
class _Run:
    """One refresh being processed: its claim, what it is about, what it has fetched."""

    claim: Claim
    resource: Resource
    known: GuideParts  # a price guide's parts fetched by earlier attempts and this one

    @property
    def job_id(self) -> int:
        return self.claim.pk


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
        won = claim(
            REFRESHES, job_id, now=now, read=("kind", "no", "color_id", "drain_run_id", "partial")
        )
        if won is None:
            return ProcessOutcome("not_claimed", job_id)
        row = won.row
        run = _Run(
            won, Resource(row["kind"], row["no"], row["color_id"]), _guide_parts(row["partial"])
        )
        refused, admission = _admit(run)
    if refused:
        outcome = refused
    else:
        lease = REFRESHES.policy.lease_seconds
        with lease_held(model=REFRESHES.model, token=won.token, seconds=lease):
            outcome = _call(run, admission)
    counter = _DRAIN_COUNTERS.get(outcome.outcome)
    if row["drain_run_id"] and counter:
        DrainRun.objects.filter(pk=row["drain_run_id"]).update(**{counter: F(counter) + 1})
    return outcome


def _limits_for(priority: int) -> list[str]:
    if priority <= Priority.LOW:
        return [GLOBAL_LIMIT, BACKGROUND_LIMIT]
    return [GLOBAL_LIMIT]


def _defer(run: _Run, wait: float, reason: str, **fields: Any) -> ProcessOutcome:
    """Not an attempt: back after ``wait`` (the breaker's, the limit's or BrickLink's)."""
    put_back(
        run.claim, wait=wait, now=clock.now(), retry=False, deferrals=F("deferrals") + 1, **fields
    )
    return ProcessOutcome("deferred", run.job_id, reason, run.resource.kind)


def _admit(run: _Run) -> tuple[ProcessOutcome | None, BreakerDecision]:
    """The breaker and the rate limits, before any call: (outcome if refused, admission)."""
    lease = REFRESHES.policy.lease_seconds
    admission = breaker_allow(name=BREAKER, probe_timeout=lease)
    if not admission.allowed:
        return _defer(run, admission.retry_after, "circuit breaker open"), admission
    try:
        # Only the calls still to make: a price guide's parts fetched earlier are kept.
        count = CALLS[run.resource.kind] - len(run.known)
        decision = rate_limit_take(names=_limits_for(run.claim.row["priority"]), count=count)
    except LimitCannotFit as exc:
        # Configuration: no amount of waiting helps. Fail loudly, do not loop.
        logger.error("refresh #%s can never run: %s", run.job_id, exc)
        now = clock.now()
        give_up(run.claim, error_record("configuration", str(exc), at=now), now=now)
        return ProcessOutcome("failed", run.job_id, str(exc), run.resource.kind), admission
    if not decision.granted:
        return _defer(run, decision.retry_after, f"rate limit {decision.limit}"), admission
    return None, admission


def fetch(resource: Resource, known: GuideParts) -> Any:
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


def _call(run: _Run, admission: BreakerDecision) -> ProcessOutcome:
    """Fetch from BrickLink and store, fenced by the claim."""
    try:
        payload = fetch(run.resource, run.known)
    except MarketplaceError as exc:
        return _failed_call(run, exc, partial=_partial(run.known))
    except Exception as exc:
        # A bug, not BrickLink: count an attempt so a poison row ends failed, not looping.
        logger.exception("refresh #%s crashed", run.job_id, extra={"job_id": run.job_id})
        error = TransientError(f"internal error ({type(exc).__name__})", provider="brickops")
        return _failed_call(run, error, upstream=False)

    done = clock.now()
    with transaction.atomic():
        finished = finish(
            run.claim, status=JobStatus.SUCCEEDED, processed_at=done, updated_at=done, partial=None
        )
        if not finished:
            logger.warning(
                "refresh #%s finished after its claim was lost (lease expired and reclaimed); "
                "its result is dropped",
                run.job_id,
                extra={"job_id": run.job_id},
            )
            return ProcessOutcome("lost_claim", run.job_id, kind=run.resource.kind)
        upsert(run.resource, payload, done)
        forget_cached([read_cache_key(run.resource)])
    if not admission.clean:
        breaker_record_success(name=BREAKER)
    return ProcessOutcome("succeeded", run.job_id, kind=run.resource.kind)


def _failed_call(
    run: _Run, exc: MarketplaceError, *, upstream: bool = True, partial: dict | None = None
) -> ProcessOutcome:
    now = clock.now()
    error = error_record(exc.code, exc.message, at=now, **_error_extra(exc))
    job_id, kind = run.job_id, run.resource.kind
    extra = {"job_id": job_id, "resource": run.resource.key, "error_code": exc.code}
    # None leaves the row's kept parts as they are.
    kept = {"partial": partial} if partial is not None else {}
    if isinstance(exc, RateLimited):
        # Every worker stops until BrickLink's time, not only this one.
        rate_limit_exhaust_until(name=GLOBAL_LIMIT, retry_after=exc.retry_after)
        with transaction.atomic():
            outcome = _defer(run, exc.retry_after, "BrickLink 429", last_error=error, **kept)
        logger.warning("BrickLink rate-limited us for %.0fs", exc.retry_after, extra=extra)
        return outcome

    if exc.retryable:
        if upstream and breaker_record_failure(
            name=BREAKER,
            threshold=settings.CATALOG_BREAKER_THRESHOLD,
            cooldown=settings.CATALOG_BREAKER_COOLDOWN_SECONDS,
        ):
            logger.warning("circuit breaker %s opened", BREAKER, extra=extra)
        with transaction.atomic():
            outcome, _ = retry_or_give_up(run.claim, error, now=now, **kept)
        if outcome == "failed":
            logger.warning("refresh #%s failed for good: %s", job_id, exc, extra=extra)
        else:
            logger.info("refresh #%s attempt failed: %s", job_id, exc, extra=extra)
        return ProcessOutcome(outcome, job_id, str(exc), kind)

    with transaction.atomic():
        give_up(run.claim, error, now=now)
        if isinstance(exc, NotFound):
            MissingPart.objects.update_or_create(no=run.resource.no, defaults={"confirmed_at": now})
            forget_cached(read_cache_key(Resource(k, run.resource.no)) for k in Kind)
    if isinstance(exc, AuthError):
        logger.error(
            "BrickLink refused the platform's credentials (configuration error): %s",
            exc,
            extra=extra,
        )
    else:
        logger.info("refresh #%s failed for good: %s", job_id, exc, extra=extra)
    return ProcessOutcome("failed", job_id, str(exc), kind)


def _error_extra(exc: MarketplaceError) -> dict[str, Any]:
    """What the classified error says beside its code and message (provider, HTTP status,
    meta code)."""
    record = exc.as_dict()
    return {k: v for k, v in record.items() if k not in ("code", "message")}
