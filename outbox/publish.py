"""Sending the workers a hint. PostgreSQL is the record: a message only says "look at row N
soon". If the broker is down the row still waits, and the sweep (or the drain) sends it, so a
failure to publish is logged, never raised into the caller's request or transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def send(
    task: Any,
    args: list[Any],
    *,
    queue: str | None = None,
    countdown: float | None = None,
    what: str = "",
) -> bool:
    """``task.apply_async`` that never raises: answers whether the broker took it."""
    try:
        task.apply_async(args=args, queue=queue, countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the row is still the record
        logger.warning(
            "could not send %s (%s); the sweep will send it",
            what or f"{task.name}{tuple(args)}",
            type(exc).__name__,
        )
        return False
    return True


def send_after_commit(task: Any, args: list[Any], **options: Any) -> None:
    """Send once the caller's transaction commits (at once outside one); a rolled back change
    sends nothing."""
    transaction.on_commit(lambda: send(task, args, **options))
