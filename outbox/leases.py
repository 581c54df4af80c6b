"""Leases that stay alive while their work runs, and die with their process.

A claimed row carries a lease; the sweep takes back rows whose lease ran out, because the
worker holding them died. A short lease brings a dead worker's rows back in seconds, but a
live call may take longer than that. So while a worker process holds a claim, a heartbeat
thread in that process renews the lease every third of its length (Oban's Lifeline and
River's rescuer work the same way). When the process dies, its heartbeat dies with it, the
lease runs out and the sweep takes the row back.

The heartbeat runs only where :func:`heartbeat_enable` was called: in Celery pool processes
(``config/celery.py``). Elsewhere -- a web request, a management command, a test stepping
the engine by hand -- holding a lease renews nothing, and the lease is as long as it is.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import close_old_connections, connection
from django.db.models import Model

from core import clock

logger = logging.getLogger(__name__)

# (model, token field, lease field, token) -> lease length in seconds, for what this process
# holds. A token is a fresh UUID per claim, so it alone names the row.
Hold = tuple[type[Model], str, str, uuid.UUID]
_held: dict[Hold, float] = {}
_changed = threading.Condition()
_state: dict = {"enabled": False, "thread": None, "pid": 0}


def _forget_parent() -> None:
    """A forked child starts with none of its parent's holds, and fresh locks (its parent's
    thread is not copied, and a lock it held would stay held forever)."""
    global _changed
    _changed = threading.Condition()
    _held.clear()
    _state.update(thread=None, pid=0)


os.register_at_fork(after_in_child=_forget_parent)


def heartbeat_enable() -> None:
    """Renew the leases this process holds from now on (a worker process calls this)."""
    _state["enabled"] = True
    _ensure_thread()


@contextmanager
def lease_held(
    *,
    model: type[Model],
    token: uuid.UUID,
    seconds: float,
    claim_field: str = "claim_token",
    lease_field: str = "lease_expires_at",
) -> Iterator[None]:
    """While the block runs, this process keeps alive the lease of the ``model`` row it
    claimed with ``token``. A row whose claim was taken away meanwhile is left alone:
    renewal is fenced by the token."""
    key = (model, claim_field, lease_field, token)
    with _changed:
        _held[key] = seconds
        _changed.notify()  # a shorter lease than the others shortens the beat
    _ensure_thread()
    try:
        yield
    finally:
        with _changed:
            _held.pop(key, None)


def leases_renew() -> int:
    """One beat: push every held lease out to its full length. Answers how many rows it
    renewed (a row whose claim was lost is not)."""
    with _changed:
        held = list(_held.items())
    now = clock.now()
    renewed = 0
    for (model, claim_field, lease_field, token), seconds in held:
        renewed += model.objects.filter(**{claim_field: token}).update(
            **{lease_field: now + timedelta(seconds=seconds)}
        )
    return renewed


def _beat_seconds() -> float:
    """A third of the shortest lease held: two beats may be missed before one runs out."""
    return max(0.2, min(_held.values(), default=30.0) / 3)


def _run() -> None:
    while True:
        with _changed:
            beat = _beat_seconds()
            # Woken early only if a hold arrives whose lease needs a quicker beat.
            _changed.wait_for(lambda beat=beat: _beat_seconds() < beat, timeout=beat)
            idle = not _held
        if idle:
            connection.close()  # nothing held: hold no database connection either
            continue
        try:
            close_old_connections()
            leases_renew()
        except Exception:
            logger.warning("could not renew leases", exc_info=True)
            connection.close()


def _ensure_thread() -> None:
    if not _state["enabled"]:
        return
    thread = _state["thread"]
    if thread is not None and thread.is_alive() and _state["pid"] == os.getpid():
        return
    thread = threading.Thread(target=_run, name="lease-heartbeat", daemon=True)
    _state.update(thread=thread, pid=os.getpid())
    thread.start()
