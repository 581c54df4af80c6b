"""How each kind of background work waits, retries and gives up: one place decides.

``settings.OUTBOX_POLICIES`` holds a policy per kind (``refresh``, ``inventory_sync``, ...);
the shared values (how long a sent row may stay pending before it is sent again, how long a
wait may be a delayed message) are ``OUTBOX_*`` settings. Read at call time, so a test or an
operator's change applies to the next row, not to the next deploy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter and a finite number of attempts."""

    base_seconds: float
    cap_seconds: float
    jitter_seconds: float
    max_attempts: int

    def wait_after(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base ...,
        never more than the cap."""
        return min(self.base_seconds * 2 ** (attempts - 1), self.cap_seconds)

    def jitter(self, wait: float) -> float:
        """A random extra for a wait, so rows put back together do not all come back at
        once: up to a fifth of the wait (at least 0.1 s), never more than ``jitter_seconds``."""
        return random.uniform(0, min(self.jitter_seconds, max(0.1, wait * 0.2)))  # noqa: S311

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass(frozen=True)
class Policy:
    kind: str
    retry: RetryPolicy
    # A claimed row's lease; its worker renews it while the work runs (outbox/leases.py).
    lease_seconds: float
    # A row sent to the workers and still pending this long after it was due is sent again.
    redispatch_seconds: float
    # A wait up to this long is a delayed message; a longer one is the sweep's (or drain's).
    requeue_max_delay_seconds: float


def policy_for(kind: str) -> Policy:
    spec = settings.OUTBOX_POLICIES[kind]
    return Policy(
        kind=kind,
        retry=RetryPolicy(
            base_seconds=spec["retry_base_seconds"],
            cap_seconds=spec["retry_cap_seconds"],
            jitter_seconds=spec["retry_jitter_seconds"],
            max_attempts=spec["max_attempts"],
        ),
        lease_seconds=spec.get("lease_seconds", settings.OUTBOX_LEASE_SECONDS),
        redispatch_seconds=settings.OUTBOX_REDISPATCH_SECONDS,
        requeue_max_delay_seconds=settings.OUTBOX_REQUEUE_MAX_DELAY_SECONDS,
    )
