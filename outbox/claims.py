"""Claiming a row of background work, finishing it fenced by the claim, putting it back to
wait, or giving it up -- the same for every kind of work.

A row is claimed by one conditional ``UPDATE`` that only one worker can win (a fresh token and
a lease), then read back by its token. Every later write of the run is *fenced*: it names the
token, so a run whose lease ran out and was taken over writes nothing. A row put back waits
with jitter; a short wait is sent again as a delayed message once the put-back commits, a
long one is left to the sweep. Nothing here calls a marketplace or sleeps.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, Q, QuerySet

from core import clock
from core.metrics import record_backoff

from .policy import Policy, policy_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """One kind of background work: its table, and what its rows hold in each state."""

    kind: str
    model: type[Model]
    # Rows that still have work to do (the sweep sends them), and rows a claim may take
    # (besides being free and, usually, due).
    active: Q
    claimable: Q
    # Set beside the token by a claim; a row waiting for its next attempt; a row given up.
    running: Mapping[str, Any]
    waiting: Mapping[str, Any]
    failed: Callable[[datetime], Mapping[str, Any]]
    # Send the workers a hint to look at a row: hint(row values, countdown). ``hint_fields``
    # are the values it needs, read with every claim.
    hint: Callable[[Mapping[str, Any], float | None], None]
    hint_fields: tuple[str, ...]
    # Whether the sweep sends due rows that were never sent (False: a drain paces them).
    sweep_sends_unsent: bool = True
    # Rows the kind sends its own way, many to a message, before the sweep sends the rest one
    # by one (inventory: uploads in batches): send_batches(now) -> rows it took.
    send_batches: Callable[[datetime], int] | None = None

    @property
    def policy(self) -> Policy:
        return policy_for(self.kind)


@dataclass(frozen=True)
class Claim:
    work: Work
    pk: int
    token: uuid.UUID
    attempts: int  # failed attempts before this run
    row: Mapping[str, Any]  # the values the claimer asked for, and the hint's


def error_record(code: str, message: str, *, at: datetime, **extra: Any) -> dict[str, Any]:
    """The ``{code, message, at}`` a row keeps of its last failure (what the API and the
    admin show), with whatever else the failure says (provider, HTTP status...)."""
    return {"code": code, "message": message, "at": clock.iso(at), **extra}


def claim(
    work: Work,
    pk: int,
    *,
    now: datetime,
    read: tuple[str, ...] = (),
    due_only: bool = True,
    lease_seconds: float | None = None,
) -> Claim | None:
    """Win row ``pk`` or leave: free (no claim, or a lease that ran out) and, with
    ``due_only``, due. Answers the claim, or None when another run holds it or it is not due."""
    token = uuid.uuid4()
    lease = lease_seconds if lease_seconds is not None else work.policy.lease_seconds
    rows = work.model.objects.filter(work.claimable, pk=pk).filter(
        Q(claim_token__isnull=True) | Q(lease_expires_at__lt=now)
    )
    if due_only:
        rows = rows.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    won = rows.update(
        claim_token=token,
        lease_expires_at=now + timedelta(seconds=lease),
        updated_at=now,
        **work.running,
    )
    if not won:
        return None
    fields = ("pk", "attempts", *work.hint_fields, *read)
    values = work.model.objects.filter(pk=pk, claim_token=token).values(*fields).first()
    if values is None:  # taken over between our UPDATE and this read: impossible unless the
        return None  # lease was shorter than a round trip
    return Claim(work, pk, token, values["attempts"], values)


def claim_batch(
    work: Work,
    rows: QuerySet,
    *,
    now: datetime,
    limit: int,
    read: tuple[str, ...] = (),
    lease_seconds: float | None = None,
) -> list[Claim]:
    """Win up to ``limit`` of ``rows`` (free and due, oldest due first) under one token, for
    work done on many rows at once (a batch upload). Each row is then a :class:`Claim` like
    any other: every write stays fenced by the token, and the sweep takes back what a dead
    worker held. Rows locked by another claimer are skipped, not waited for."""
    token = uuid.uuid4()
    lease = lease_seconds if lease_seconds is not None else work.policy.lease_seconds
    free = Q(claim_token__isnull=True) | Q(lease_expires_at__lt=now)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    with transaction.atomic():
        pks = list(
            rows.filter(work.claimable, free, due)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not pks:
            return []
        # Conditional again: without row locks (SQLite) another claimer may have won some.
        work.model.objects.filter(free, pk__in=pks).update(
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=lease),
            updated_at=now,
            **work.running,
        )
    fields = ("pk", "attempts", *work.hint_fields, *read)
    won = work.model.objects.filter(claim_token=token).order_by("pk").values(*fields)
    return [Claim(work, values["pk"], token, values["attempts"], values) for values in won]


def held_of(claims: list[Claim]) -> QuerySet:
    """The rows of a batch (one token) that its claim still holds."""
    if not claims:
        raise ValueError("a batch of no claims holds no rows")
    first = claims[0]
    return first.work.model.objects.filter(
        pk__in=[claim.pk for claim in claims], claim_token=first.token
    )


def held(claim: Claim) -> QuerySet:
    """The row, only while this claim still holds it."""
    return claim.work.model.objects.filter(pk=claim.pk, claim_token=claim.token)


def finish(claim: Claim, **fields: Any) -> bool:
    """Release the row with ``fields`` written, if this claim still holds it."""
    return bool(held(claim).update(claim_token=None, lease_expires_at=None, **fields))


def put_back(
    claim: Claim,
    *,
    wait: float,
    now: datetime,
    retry: bool,
    attempts: int | None = None,
    error: dict[str, Any] | None = None,
    hint: bool = True,
    **fields: Any,
) -> float:
    """Back to waiting for ``wait`` seconds plus jitter: a failed attempt (``retry``) or a
    deferral (quota, breaker, 429: not an attempt). A short wait becomes a delayed message
    once this commits (not with ``hint=False``: work done many rows at a time sends its own);
    a long one is the sweep's. Answers the delay set, -1 if the claim was lost."""
    work = claim.work
    policy = work.policy
    delay = wait + policy.retry.jitter(wait)
    due = now + timedelta(seconds=delay)
    soon = delay <= policy.requeue_max_delay_seconds
    changes: dict[str, Any] = {
        **work.waiting,
        "next_attempt_at": due,
        # Sent, for when it is due: a lost message is sent again by the sweep after that.
        "dispatched_at": due if soon else None,
        "updated_at": now,
        **fields,
    }
    if attempts is not None:
        changes["attempts"] = attempts
    if error is not None:
        changes["last_error"] = error
    if not finish(claim, **changes):
        return -1.0
    record_backoff(source=work.kind, reason="retry" if retry else "deferred")
    if soon and hint:
        row = claim.row
        transaction.on_commit(lambda: work.hint(row, delay))
    return delay


def give_up(claim: Claim, error: dict[str, Any], *, now: datetime, **fields: Any) -> bool:
    """Failed for good, with the error it failed with (what a failed row holds wins over
    ``fields`` meant for a row that waits)."""
    changes = {"updated_at": now, **fields, **claim.work.failed(now), "last_error": error}
    return finish(claim, **changes)


def retry_or_give_up(
    claim: Claim, error: dict[str, Any], *, now: datetime, hint: bool = True, **fields: Any
) -> tuple[str, float]:
    """A failed attempt that may succeed later: back off, or give up after the policy's last
    attempt. Answers ("retrying", delay) or ("failed", 0)."""
    attempts = claim.attempts + 1
    retry = claim.work.policy.retry
    if retry.exhausted(attempts):
        give_up(claim, error, now=now, attempts=attempts, **fields)
        return "failed", 0.0
    delay = put_back(
        claim,
        wait=retry.wait_after(attempts),
        now=now,
        retry=True,
        attempts=attempts,
        error=error,
        hint=hint,
        **fields,
    )
    return "retrying", delay
