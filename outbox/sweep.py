"""The sweep: one periodic pass over every kind of background work.

For each kind registered (:func:`work_register`), every ``OUTBOX_SWEEP_SECONDS``:

* rows whose lease ran out are taken back -- their worker died, since a live worker renews
  its lease (outbox/leases.py) -- and sent again; the lost run counts as an attempt, so a row
  that kills its worker every time ends failed instead of looping;
* due rows that were sent and are still waiting well after (their message was lost with a
  worker) are sent again, and -- for kinds without a drain of their own -- due rows never sent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from core import clock

from .claims import Work, error_record

logger = logging.getLogger(__name__)

_works: dict[str, Work] = {}


def work_register(work: Work) -> None:
    _works[work.kind] = work


def registered_work() -> list[Work]:
    return list(_works.values())


def reclaim_expired(work: Work, *, now: datetime, send: bool = True) -> int:
    """Take back rows whose lease ran out; with ``send``, send them to the workers at once.
    Answers how many it took back."""
    policy = work.policy
    expired = work.model.objects.filter(claim_token__isnull=False, lease_expires_at__lt=now)
    error = error_record(
        "lease_expired",
        "the worker running this stopped before finishing",
        at=now,
        provider="brickops",
        http_status=None,
        meta_code=None,
    )
    reclaimed, again = 0, []
    for values in expired.values("pk", "attempts", *work.hint_fields):
        attempts = values["attempts"] + 1
        gone = policy.retry.exhausted(attempts)
        changes = {
            "claim_token": None,
            "lease_expires_at": None,
            "attempts": attempts,
            "last_error": error,
            "updated_at": now,
        }
        if gone:
            changes.update(work.failed(now))
        else:
            changes.update(work.waiting, next_attempt_at=now, dispatched_at=now if send else None)
        # Conditional on the lease: a worker finishing right now keeps its row.
        taken = work.model.objects.filter(
            pk=values["pk"], claim_token__isnull=False, lease_expires_at__lt=now
        ).update(**changes)
        reclaimed += taken
        if taken and send and not gone:
            again.append(values)
    for values in again:
        work.hint(values, None)
    return reclaimed


def to_send(work: Work, now: datetime) -> Q:
    """Rows the sweep sends: free, due, and either sent long ago and still waiting (the
    message was lost) or -- when the kind has no drain -- never sent."""
    before = now - timedelta(seconds=work.policy.redispatch_seconds)
    lost = Q(dispatched_at__lt=before, next_attempt_at__lt=before)
    if work.sweep_sends_unsent:
        lost |= Q(dispatched_at__isnull=True)
    return work.active & lost & Q(claim_token__isnull=True, next_attempt_at__lte=now)


def resend_lost(work: Work, *, now: datetime, batch: int = 500) -> int:
    """Send due rows whose message is presumed lost (sent, still waiting well after they were
    due), and -- when the kind has no drain -- due rows never sent. Answers how many."""
    with transaction.atomic():
        rows = list(
            work.model.objects.select_for_update(skip_locked=True)
            .filter(to_send(work, now))
            .order_by("next_attempt_at", "pk")
            .values("pk", *work.hint_fields)[:batch]
        )
        work.model.objects.filter(pk__in=[row["pk"] for row in rows]).update(dispatched_at=now)
    for row in rows:
        work.hint(row, None)
    return len(rows)


def sweep_kind(work: Work, *, now: datetime, batch: int = 500) -> tuple[int, int]:
    """One kind's pass: take back rows of dead runs, then send what is due -- first the rows
    the kind sends in batches of its own, then the rest one by one. Answers (taken back,
    sent)."""
    batches = work.send_batches
    # Taken back rows are left unsent when the kind batches: sent below, with the others.
    reclaimed = reclaim_expired(work, now=now, send=batches is None)
    sent = batches(now) if batches is not None else 0
    return reclaimed, sent + resend_lost(work, now=now, batch=batch)


def outbox_sweep() -> dict[str, tuple[int, int]]:
    """Sweep every kind; one failing does not stop the others. Answers kind -> (taken back,
    sent again)."""
    done: dict[str, tuple[int, int]] = {}
    for work in registered_work():
        now = clock.now()
        try:
            done[work.kind] = reclaimed, resent = sweep_kind(work, now=now)
        except Exception:
            logger.exception("the %s sweep failed", work.kind)
            continue
        if reclaimed:
            logger.warning("took back %s %s rows whose worker stopped", reclaimed, work.kind)
        if resent:
            logger.info("sent %s %s rows to the workers again", resent, work.kind)
    return done
