"""A circuit breaker shared by every worker on every machine, kept in the database.

After ``threshold`` consecutive transient failures upstream it opens for ``cooldown`` seconds:
callers are told to come back later instead of calling. When the cool-down is over, exactly
one caller is let through as the probe; its success closes the breaker, its failure opens it
again. A probe that never reports (its worker died) is replaced after ``probe_timeout``.

The common case — closed — costs one primary-key read and no write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F

from core import clock

from .models import CircuitBreaker

State = CircuitBreaker.State


@dataclass(frozen=True)
class BreakerDecision:
    allowed: bool
    probe: bool = False
    retry_after: float = 0.0
    # Closed with no failures counted: a success has nothing to reset.
    clean: bool = False


def _locked(name: str) -> CircuitBreaker:
    breaker, _ = CircuitBreaker.objects.select_for_update().get_or_create(
        name=name, defaults={"updated_at": clock.now()}
    )
    return breaker


def breaker_allow(*, name: str, probe_timeout: float = 180.0) -> BreakerDecision:
    """May a caller go upstream now? Closed: yes. Open: no, until the cool-down ends; then
    the first caller becomes the probe and everyone else waits for its verdict."""
    state = (
        CircuitBreaker.objects.filter(name=name)
        .values_list("state", "consecutive_failures")
        .first()
    )
    if state is None or state[0] == State.CLOSED:
        return BreakerDecision(allowed=True, clean=state is None or state[1] == 0)
    now = clock.now()
    with transaction.atomic(savepoint=False):
        breaker = _locked(name)
        if breaker.state == State.CLOSED:
            return BreakerDecision(allowed=True)
        if breaker.state == State.OPEN and breaker.open_until and now < breaker.open_until:
            return BreakerDecision(False, retry_after=(breaker.open_until - now).total_seconds())
        if breaker.state == State.HALF_OPEN and breaker.probe_started_at:
            probe_deadline = breaker.probe_started_at + timedelta(seconds=probe_timeout)
            if now < probe_deadline:
                return BreakerDecision(False, retry_after=(probe_deadline - now).total_seconds())
        breaker.state = State.HALF_OPEN
        breaker.probe_token = uuid.uuid4()
        breaker.probe_started_at = now
        breaker.updated_at = now
        breaker.save()
    return BreakerDecision(allowed=True, probe=True)


def breaker_record_success(*, name: str) -> None:
    """Upstream answered: close the breaker (a no-op when it is already closed and clean)."""
    CircuitBreaker.objects.filter(name=name).exclude(
        state=State.CLOSED, consecutive_failures=0
    ).update(
        state=State.CLOSED,
        consecutive_failures=0,
        open_until=None,
        probe_token=None,
        probe_started_at=None,
        updated_at=clock.now(),
    )


def breaker_record_failure(*, name: str, threshold: int, cooldown: float) -> bool:
    """A transient failure upstream. Answers True when this failure opened the breaker."""
    now = clock.now()
    with transaction.atomic(savepoint=False):
        breaker = _locked(name)
        breaker.consecutive_failures = F("consecutive_failures") + 1
        breaker.updated_at = now
        breaker.save(update_fields=["consecutive_failures", "updated_at"])
        breaker.refresh_from_db(fields=["consecutive_failures"])
        opens = breaker.state == State.HALF_OPEN or (
            breaker.state == State.CLOSED and breaker.consecutive_failures >= threshold
        )
        if opens:
            breaker.state = State.OPEN
            breaker.opened_at = now
            breaker.open_until = now + timedelta(seconds=cooldown)
            breaker.probe_token = None
            breaker.probe_started_at = None
            breaker.save()
    return opens


def breaker_state(*, name: str) -> CircuitBreaker | None:
    return CircuitBreaker.objects.filter(name=name).first()
