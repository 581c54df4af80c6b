"""The sweep: one periodic pass over every kind of background work.

Each kind registers what its sweep does -- take back the rows whose lease ran out (their
worker died) and send again the messages that were lost with it -- and beat runs them all
every ``OUTBOX_SWEEP_SECONDS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# kind -> its sweep, answering (rows taken back, messages sent again).
_sweeps: dict[str, Callable[[], tuple[int, int]]] = {}


def sweep_register(kind: str, sweep: Callable[[], tuple[int, int]]) -> None:
    _sweeps[kind] = sweep


def outbox_sweep() -> dict[str, tuple[int, int]]:
    """Run every kind's sweep; one kind failing does not stop the others."""
    done: dict[str, tuple[int, int]] = {}
    for kind, sweep in _sweeps.items():
        try:
            done[kind] = reclaimed, resent = sweep()
        except Exception:
            logger.exception("the %s sweep failed", kind)
            continue
        if reclaimed:
            logger.warning("took back %s %s whose worker stopped", reclaimed, kind)
        if resent:
            logger.info("sent %s %s again (their message was lost)", resent, kind)
    return done
