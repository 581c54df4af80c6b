"""Writes of the catalog, one module per job:

* ``enqueue`` -- asking for refreshes (deduplicated; HIGH ones sent at once);
* ``process`` -- running one refresh (claim, admit, call BrickLink, store);
* ``upserts`` -- storing what BrickLink answered;
* ``drain`` -- sending due refreshes to the workers at the drain's pace;
* ``reads`` -- the read whose side effect queues a refresh (the API's envelope);
* ``operator`` -- the admin's actions;
* ``housekeeping`` -- the background freshness scan and the nightly cleanup;
* ``reference`` -- colors and categories.

How refreshes wait, retry and give up is the outbox's (outbox/policy.py, "refresh").
"""

from .drain import refresh_drain, refresh_reclaim_expired
from .enqueue import (
    EnqueueResult,
    refresh_enqueue,
    refresh_enqueue_many,
    refresh_hurry,
    refresh_raise_to_high,
)
from .housekeeping import refresh_cleanup, refresh_enqueue_stale
from .operator import refresh_mark_failed, refresh_retry_now
from .process import ProcessOutcome, refresh_process
from .reads import PartNotFound, catalog_read
from .reference import reference_sync
from .upserts import part_colors_upsert, part_upsert, price_guide_upsert

__all__ = [
    "EnqueueResult",
    "PartNotFound",
    "ProcessOutcome",
    "catalog_read",
    "part_colors_upsert",
    "part_upsert",
    "price_guide_upsert",
    "reference_sync",
    "refresh_cleanup",
    "refresh_drain",
    "refresh_enqueue",
    "refresh_enqueue_many",
    "refresh_enqueue_stale",
    "refresh_hurry",
    "refresh_mark_failed",
    "refresh_process",
    "refresh_raise_to_high",
    "refresh_reclaim_expired",
    "refresh_retry_now",
]
