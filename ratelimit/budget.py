"""Calls paid for before they are made.

A step of background work that needs k rate-limited calls takes its k tokens in **one** take
before its first call. When the limit has no room, the take is a *reservation* (the Convex
rate limiter's ``reserve``): the tokens are the step's, taken into the limit's debt, and the
limiter says when they may be spent -- so many steps of one account queue in the order they
asked instead of racing for each token. The step then waits, rescheduled and never slept,
keeping both its tokens and whatever it has learnt; a wait costs no call.

A step that cannot even reserve (a limit's reservations are full, a vendor said stop, a daily
window is spent) takes nothing and waits as long as the limiter says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock
from outbox.leases import lease_held

from .models import ConcurrencySlot
from .services import LimitRef, rate_limit_take
from .slots import slot_acquire, slot_release


class MustWait(Exception):
    """Not now: run again after ``wait`` seconds. Nothing was called."""

    def __init__(self, wait: float, reason: str) -> None:
        super().__init__(reason)
        self.wait = max(0.0, wait)
        self.reason = reason


@dataclass(frozen=True)
class Seats:
    """At most ``size`` calls of ``name``/``key`` in flight at once, across every worker."""

    name: str
    key: str
    size: int
    lease_seconds: float
    # A seat frees as soon as a call returns: look again this soon.
    retry_seconds: float = 0.2


@dataclass
class CallBudget:
    """The tokens one piece of work holds for its calls, and when it may spend them.

    ``held`` and ``usable_at`` come from, and go back to, the work's row when it has to wait
    (:attr:`held`, :attr:`usable_at`), so a reservation outlives the run that made it."""

    limits: Sequence[LimitRef]
    held: int = 0
    usable_at: datetime | None = None
    seats: Seats | None = None
    calls: int = 0
    # False: never take tokens into the limit's debt -- for work that cannot keep a
    # reservation until its turn (it would be lost, and the tokens with it): no room, no take.
    reserve_ahead: bool = True

    def reserve(self, count: int) -> None:
        """Make sure the next ``count`` calls are paid for and may run now; else
        :class:`MustWait` (with the tokens kept when they were reserved)."""
        missing = count - self.held
        if missing > 0:
            decision = rate_limit_take(
                names=list(self.limits), count=missing, reserve=self.reserve_ahead
            )
            if not decision.granted:
                raise MustWait(decision.retry_after, f"rate limit {decision.limit}")
            self.held += missing
            if decision.retry_after > 0:
                turn = clock.now() + timedelta(seconds=decision.retry_after)
                self.usable_at = max(self.usable_at or turn, turn)
        if self.usable_at is not None:
            wait = (self.usable_at - clock.now()).total_seconds()
            if wait > 0:
                raise MustWait(wait, f"reserved {self.held} calls, its turn in {wait:.1f}s")
            self.usable_at = None

    @contextmanager
    def call(self) -> Iterator[None]:
        """One paid call: spends a held token (reserving one if none is held) and, when the
        budget has seats, holds one of them while the call runs."""
        self.reserve(1)
        seat: uuid.UUID | None = None
        if self.seats is not None:
            seats = self.seats
            seat = slot_acquire(
                name=seats.name, key=seats.key, size=seats.size, lease_seconds=seats.lease_seconds
            )
            if seat is None:
                raise MustWait(seats.retry_seconds, "calls in flight")
        self.held -= 1
        self.calls += 1
        try:
            if seat is None:
                yield
            else:
                # Renewed while the call runs, so the seat's lease can be short: a worker that
                # dies mid-call gives its seat back within seconds.
                with lease_held(
                    model=ConcurrencySlot,
                    token=seat,
                    seconds=self.seats.lease_seconds,
                    claim_field="holder",
                    lease_field="lease_until",
                ):
                    yield
        finally:
            if seat is not None:
                slot_release(token=seat)
