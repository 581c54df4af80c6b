"""Bringing a store's orders in: one run of its feed (outbox work, orders/work.py).

A run reads what it was asked for -- the notifications (a BrickLink callback), an order a push
named (a BrickOwl notification), the store's order list (the periodic poll or a seller's
request) -- and fetches each order that is new or changed, storing it with its stock effects
(orders/effects.py). Calls: one for the list (or the notifications), then for each order what
it lacks: its items when new (BrickLink also when UPDATED), BrickOwl's buyer when new, nothing
for a status change the list already shows. Orders placed before the store was followed are
history: stored from the list alone, no items fetched, no stock moved.

Every call is paid for before it is made (ratelimit/budget.py, the store's own limit); a run
that must wait keeps the list of orders still to fetch on the feed, so the next run asks
nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from core import clock
from inventory.lots.base import Gate
from inventory.models import BrickOwlPart, MarketplaceConnection, Provider
from inventory.sync import client_for
from marketplaces.errors import MarketplaceError, NotFound
from outbox.claims import Claim, claim, error_record, finish, held, put_back, retry_or_give_up
from outbox.leases import lease_held
from ratelimit.budget import MustWait

from .effects import order_record
from .models import FeedStatus, Order
from .snapshots import BRICKLINK_STATES, BRICKOWL_STATES, LineSnapshot, OrderSnapshot
from .work import FEEDS

logger = logging.getLogger(__name__)

READ = (
    "account_id",
    "provider",
    "since",
    "to_fetch",
    "pushed",
    "check_notifications",
    "poll_requested",
    "calls_reserved",
    "calls_usable_at",
)


@dataclass(frozen=True)
class FeedOutcome:
    outcome: str  # done | deferred | retrying | failed | busy | disabled | lost_claim
    orders: int = 0  # orders stored or changed
    calls: int = 0


class _Run:
    """One run of a feed: its claim, the store, what is left to fetch."""

    def __init__(self, won: Claim, connection: MarketplaceConnection) -> None:
        self.claim = won
        self.provider = won.row["provider"]
        self.since = won.row["since"]
        self.account_id = won.row["account_id"]
        self.to_fetch: list[dict[str, Any]] = list(won.row["to_fetch"])
        self.client = client_for(connection)
        self.gate = Gate(
            self.provider,
            self.account_id,
            held_calls=won.row["calls_reserved"],
            usable_at=won.row["calls_usable_at"],
        )
        self.stored = 0

    def save(self, **fields: Any) -> None:
        held(self.claim).update(updated_at=clock.now(), **fields)


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
            put_back(won, wait=wait.wait, now=clock.now(), retry=False, **_unspent(run))
            return FeedOutcome("deferred", run.stored, run.gate.calls)
        except MarketplaceError as exc:
            now = clock.now()
            error = error_record(exc.code, exc.message, at=now, **_extra(exc))
            outcome, _ = retry_or_give_up(won, error, now=now, **_unspent(run))
            logger.warning("order feed #%s (%s): %s", feed_id, run.provider, exc)
            return FeedOutcome(outcome, run.stored, run.gate.calls)
    _done(run, started)
    return FeedOutcome("done", run.stored, run.gate.calls)


def _take_requests(won: Claim) -> dict[str, Any]:
    """What pushes and requests asked for since the last run, taken off the feed at once
    (a push arriving while this run works is left for the next run)."""
    with transaction.atomic():
        row = (
            held(won).select_for_update().values("pushed", "check_notifications", "poll_requested")
        )
        asked = row.first() or {"pushed": [], "check_notifications": False, "poll_requested": False}
        held(won).update(pushed=[], check_notifications=False, poll_requested=False)
    return asked


def _unspent(run: _Run) -> dict[str, Any]:
    return {"calls_reserved": run.gate.budget.held, "calls_usable_at": run.gate.budget.usable_at}


def _extra(exc: MarketplaceError) -> dict[str, Any]:
    return {k: v for k, v in exc.as_dict().items() if k not in ("code", "message")}


def _done(run: _Run, started: datetime) -> None:
    """Idle until the next poll -- or due again at once if something asked meanwhile."""
    feed = FEEDS.model.objects.filter(pk=run.claim.pk).values("requested_at").first() or {}
    again = (feed.get("requested_at") or started) > started
    now = clock.now()
    finish(
        run.claim,
        status=FeedStatus.DUE if again else FeedStatus.IDLE,
        next_attempt_at=now if again else None,
        dispatched_at=None,
        polled_at=now,
        attempts=0,
        last_error=None,
        to_fetch=run.to_fetch,
        updated_at=now,
        **_unspent(run),
    )
    if again:
        from .work import publish_feed

        transaction.on_commit(lambda: publish_feed(run.claim.pk))


def _queue(run: _Run, entries: list[dict[str, Any]]) -> None:
    known = {entry["id"] for entry in run.to_fetch}
    run.to_fetch += [entry for entry in entries if entry["id"] not in known]
    run.save(to_fetch=run.to_fetch)  # what it learnt survives a wait


def _gather(run: _Run, asked: dict[str, Any]) -> None:
    """Turn what was asked into the list of orders to fetch (kept on the feed)."""
    _queue(run, [{"id": str(order_id)} for order_id in asked["pushed"]])
    if asked["check_notifications"] and run.provider == Provider.BRICKLINK:
        run.gate.reserve(1)
        with run.gate.call():
            notes = run.client.notifications()
        _queue(run, [{"id": str(n.resource_id)} for n in notes if n.event_type == "Order"])
    if asked["poll_requested"]:
        run.gate.reserve(1)
        with run.gate.call():
            listed = _list(run)
        _queue(run, _new_or_changed(run, listed))


def _list(run: _Run) -> list[dict[str, Any]]:
    """The store's orders as the list shows them, in one shape."""
    if run.provider == Provider.BRICKLINK:
        return [
            {
                "id": str(o.order_id),
                "status": o.status,
                "placed_at": o.date_ordered.isoformat(),
                "status_changed_at": o.date_status_changed.isoformat(),
                "buyer_name": o.buyer_name,
            }
            for o in run.client.orders(direction="in")
        ]
    since = int((run.since - timedelta(days=1)).timestamp())
    return [
        {
            "id": str(o.order_id),
            "status": o.status,
            "status_id": o.status_id,
            "placed_at": o.placed_at.isoformat(),
        }
        for o in run.client.orders(order_time=since)
    ]


def _new_or_changed(run: _Run, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stored = dict(
        Order.objects.filter(
            account_id=run.account_id,
            provider=run.provider,
            external_id__in=[entry["id"] for entry in listed],
        ).values_list("external_id", "status")
    )
    return [entry for entry in listed if stored.get(entry["id"]) != entry["status"]]


def _fetch_all(run: _Run) -> None:
    while run.to_fetch:
        entry = run.to_fetch[0]
        try:
            snapshot = _fetch(run, entry)
        except NotFound:
            logger.warning("%s has no order %s: skipped", run.provider, entry["id"])
            snapshot = None
        if snapshot is not None:
            recorded = order_record(account_id=run.account_id, snapshot=snapshot, since=run.since)
            run.stored += recorded.changed
        run.to_fetch = run.to_fetch[1:]
        run.save(to_fetch=run.to_fetch)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _fetch(run: _Run, entry: dict[str, Any]) -> OrderSnapshot | None:
    """What an order lacks to be stored: its details if only its id is known, its items if
    it is new (or changed its items), nothing for a history order or a status change."""
    known = Order.objects.filter(
        account_id=run.account_id, provider=run.provider, external_id=entry["id"]
    ).first()
    if run.provider == Provider.BRICKLINK:
        return _bricklink(run, entry, known)
    return _brickowl(run, entry, known)


def _bricklink(run: _Run, entry: dict[str, Any], known: Order | None) -> OrderSnapshot:
    client, gate = run.client, run.gate
    placed_at = _when(entry.get("placed_at"))
    if "status" not in entry:
        gate.reserve(1)
        with gate.call():
            order = client.order(entry["id"])
        entry = {
            **entry,
            "status": order.status,
            "buyer_name": order.buyer_name,
            "status_changed_at": order.date_status_changed.isoformat(),
        }
        placed_at = order.date_ordered
    need_items = not _history(run, placed_at) and (known is None or entry["status"] == "UPDATED")
    lines = None
    if need_items:
        gate.reserve(1)
        with gate.call():
            items = client.order_items(entry["id"])
        lines = tuple(
            LineSnapshot(
                lot_id=str(item.inventory_id),
                quantity=item.quantity,
                part_number=item.item_no,
                color_id=item.color_id,
                condition="new" if item.new_or_used == "N" else "used",
                unit_price=item.unit_price,
            )
            for item in items
        )
    status = entry["status"]
    return OrderSnapshot(
        provider=Provider.BRICKLINK,
        external_id=entry["id"],
        status=status,
        state=BRICKLINK_STATES.get(status.upper()),
        placed_at=placed_at,
        status_changed_at=_when(entry.get("status_changed_at")) or clock.now(),
        buyer_name=entry.get("buyer_name", ""),
        lines=lines,
    )


def _history(run: _Run, placed_at: datetime | None) -> bool:
    return bool(run.since and placed_at and placed_at < run.since)


def _brickowl(run: _Run, entry: dict[str, Any], known: Order | None) -> OrderSnapshot:
    client, gate = run.client, run.gate
    new = known is None
    placed_at = _when(entry.get("placed_at")) or (known.placed_at if known else None)
    buyer = known.buyer_name if known else ""
    need_view = new or "status" not in entry  # the list has no buyer; a push has nothing
    maybe_items = new and not _history(run, placed_at)
    gate.reserve(int(need_view) + int(maybe_items))
    if need_view:
        with gate.call():
            order = client.order(entry["id"])
        entry = {**entry, "status": order.status, "status_id": order.status_id}
        placed_at, buyer = order.placed_at, order.buyer_name
    lines = None
    if new and not _history(run, placed_at):
        with gate.call():
            items = client.order_items(entry["id"])
        lines = tuple(_owl_line(item) for item in items)
    return OrderSnapshot(
        provider=Provider.BRICKOWL,
        external_id=entry["id"],
        status=entry["status"],
        state=BRICKOWL_STATES.get(int(entry.get("status_id", -1))),
        placed_at=placed_at or clock.now(),
        status_changed_at=clock.now(),
        buyer_name=buyer,
        lines=lines,
    )


def _owl_line(item: Any) -> LineSnapshot:
    """A BrickOwl order item in BrickLink's terms, as far as we know them (the matched
    item's part and color are what the API shows; these are for unmatched lines)."""
    part = BrickOwlPart.objects.filter(boid=item.boid).values_list("part_number", flat=True)
    return LineSnapshot(
        lot_id=str(item.lot_id),
        quantity=item.quantity,
        part_number=part.first() or "",
        color_id=None,
        condition="new" if item.condition.startswith("new") else "used",
        unit_price=item.unit_price,
    )
