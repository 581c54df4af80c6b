"""Bringing a store's orders in: one run of its feed (outbox work, orders/work.py).

A run reads what it was asked for -- the notifications (a BrickLink callback), an order a push
named (a BrickOwl notification), the store's order list (the periodic poll or a seller's
request) -- and fetches each order that is new or changed (orders/store.py), storing it with
its stock effects (orders/effects.py), one order at a time.

Every call is paid for before it is made (ratelimit/budget.py, the store's own limit); a run
that must wait keeps the list of orders still to fetch on the feed, so the next run asks
nothing twice. A push arriving while a run works makes the feed run again when it ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from core import clock
from inventory.lots.base import ORDER_LIMITS, Gate
from inventory.models import MarketplaceConnection, Provider
from marketplaces.errors import MarketplaceError, NotFound
from outbox.claims import Claim, claim, error_record, finish, held, put_back, retry_or_give_up
from outbox.leases import lease_held
from ratelimit.budget import MustWait

from . import work
from .effects import order_record
from .models import FeedStatus
from .store import StoreOrders
from .work import FEEDS

logger = logging.getLogger(__name__)

READ = ("account_id", "provider", "since", "to_fetch", "calls_reserved", "calls_usable_at")
NOTHING_ASKED = {"pushed": [], "check_notifications": False, "poll_requested": False}


@dataclass(frozen=True)
class FeedOutcome:
    outcome: str  # done | deferred | retrying | failed | busy | disabled
    orders: int = 0  # orders stored or changed
    calls: int = 0


class _Run:
    """One run of a feed: its claim, the store, what is left to fetch."""

    def __init__(self, won: Claim, connection: MarketplaceConnection) -> None:
        self.claim = won
        self.to_fetch: list[dict[str, Any]] = list(won.row["to_fetch"])
        gate = Gate(
            connection.provider,
            connection.account_id,
            limit=ORDER_LIMITS[connection.provider],
            held_calls=won.row["calls_reserved"],
            usable_at=won.row["calls_usable_at"],
        )
        self.store = StoreOrders(connection, since=won.row["since"], gate=gate)
        self.stored = 0
        # Reads asked for and not done yet: a run that stops early asks for them again.
        self.unread = {"check_notifications": False, "poll_requested": False}

    def queue(self, entries: list[dict[str, Any]]) -> None:
        known = {entry["id"] for entry in self.to_fetch}
        self.to_fetch += [entry for entry in entries if entry["id"] not in known]
        self.keep()

    def keep(self) -> None:
        """What the run learnt (the orders still to fetch) survives a wait or a crash."""
        held(self.claim).update(to_fetch=self.to_fetch, updated_at=clock.now())

    def unspent(self) -> dict[str, Any]:
        """What a run that stops early keeps: its paid calls, and the orders still to fetch
        with what their first calls answered."""
        budget = self.store.gate.budget
        return {
            "calls_reserved": budget.held,
            "calls_usable_at": budget.usable_at,
            "to_fetch": self.to_fetch,
            **{flag: True for flag, left in self.unread.items() if left},
        }


def feed_run(*, feed_id: int) -> FeedOutcome:
    """Run one feed if it is due and nobody else holds it. Idempotent."""
    won = claim(FEEDS, feed_id, now=clock.now(), read=READ)
    if won is None:
        return FeedOutcome("busy")
    started = clock.now()
    asked = _take_requests(won)
    connection = MarketplaceConnection.objects.filter(
        account_id=won.row["account_id"], provider=won.row["provider"]
    ).first()
    if connection is None or not (connection.enabled and connection.configured):
        finish(won, status=FeedStatus.IDLE, next_attempt_at=None, to_fetch=[])
        return FeedOutcome("disabled")
    run = _Run(won, connection)
    with lease_held(model=FEEDS.model, token=won.token, seconds=FEEDS.policy.lease_seconds):
        try:
            _gather(run, asked)
            _fetch_all(run)
        except MustWait as wait:
            put_back(won, wait=wait.wait, now=clock.now(), retry=False, **run.unspent())
            return FeedOutcome("deferred", run.stored, run.store.gate.calls)
        except MarketplaceError as exc:
            now = clock.now()
            details = {k: v for k, v in exc.as_dict().items() if k not in ("code", "message")}
            error = error_record(exc.code, exc.message, at=now, **details)
            outcome, _ = retry_or_give_up(won, error, now=now, **run.unspent())
            logger.warning("order feed #%s (%s): %s", feed_id, connection.provider, exc)
            return FeedOutcome(outcome, run.stored, run.store.gate.calls)
    _done(run, started)
    return FeedOutcome("done", run.stored, run.store.gate.calls)


def _take_requests(won: Claim) -> dict[str, Any]:
    """What pushes and requests asked for since the last run, taken off the feed at once (a
    push arriving while this run works is left for the next run)."""
    with transaction.atomic():
        asked = held(won).select_for_update().values(*NOTHING_ASKED).first() or dict(NOTHING_ASKED)
        held(won).update(**NOTHING_ASKED)
    return asked


def _gather(run: _Run, asked: dict[str, Any]) -> None:
    """Turn what was asked into the list of orders to fetch (kept on the feed as it grows)."""
    run.queue([{"id": str(order_id)} for order_id in asked["pushed"]])
    store = run.store
    run.unread = {
        "check_notifications": asked["check_notifications"]
        and store.provider == Provider.BRICKLINK,
        "poll_requested": asked["poll_requested"],
    }
    if run.unread["check_notifications"]:
        run.queue(store.notified())
        run.unread["check_notifications"] = False
    if run.unread["poll_requested"]:
        run.queue(store.new_or_changed(store.listed()))
        run.unread["poll_requested"] = False


def _fetch_all(run: _Run) -> None:
    while run.to_fetch:
        entry = run.to_fetch[0]
        try:
            snapshot = run.store.fetch(entry)
        except NotFound:
            logger.warning("%s has no order %s: skipped", run.store.provider, entry["id"])
            snapshot = None
        if snapshot is not None:
            recorded = order_record(
                account_id=run.store.account_id, snapshot=snapshot, since=run.store.since
            )
            run.stored += recorded.changed
        run.to_fetch = run.to_fetch[1:]
        run.keep()


def _done(run: _Run, started: datetime) -> None:
    """Idle until the next poll -- or due again at once if something asked meanwhile."""
    feed = FEEDS.model.objects.filter(pk=run.claim.pk).values("requested_at").first() or {}
    again = (feed.get("requested_at") or started) > started
    now = clock.now()
    finish(
        run.claim,
        status=FeedStatus.DUE if again else FeedStatus.IDLE,
        next_attempt_at=now if again else None,
        dispatched_at=now if again else None,
        polled_at=now,
        attempts=0,
        last_error=None,
        updated_at=now,
        **run.unspent(),
    )
    if again:
        transaction.on_commit(lambda: work.publish_feed(run.claim.pk))
