"""One store's orders as the marketplace shows them: its order list, which of those are new or
changed, and each order fetched with what it lacks -- in one shape for both marketplaces
(orders/snapshots.py). Every call goes through the store's gate, paid for before it is made.

Calls per order: BrickLink lists orders with their status and buyer, so a new order costs its
items (one call) and a status change nothing -- unless UPDATED (its items changed); an order
known only by id (a notification) costs its details first. BrickOwl's list has no buyer: a new
order costs its details and its items (two calls), a status change nothing. An order placed
before the store was followed is history: stored without its items.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import clock
from inventory.lots import bricklink, brickowl
from inventory.lots.base import ORDER_LIMITS, Gate
from inventory.models import BrickOwlPart, MarketplaceConnection, Provider
from inventory.sync import client_for

from .effects import is_history
from .models import Order
from .snapshots import BRICKLINK_STATES, BRICKOWL_STATES, LineSnapshot, OrderSnapshot


class StoreOrders:
    def __init__(
        self,
        connection: MarketplaceConnection,
        *,
        since: datetime | None,
        gate: Gate | None = None,
        with_history_items: bool = False,
    ) -> None:
        self.provider = connection.provider
        self.account_id = connection.account_id
        self.since = since
        self.client = client_for(connection)
        self.gate = gate or Gate(self.provider, self.account_id, limit=ORDER_LIMITS[self.provider])
        # A first import of history (sync_orders) wants old orders' items too.
        self.with_history_items = with_history_items

    def notified(self) -> list[dict[str, Any]]:
        """The orders BrickLink's unread notifications name (one call)."""
        self.gate.reserve(1)
        with self.gate.call():
            notes = self.client.notifications()
        return [{"id": str(n.resource_id)} for n in notes if n.event_type == "Order"]

    def listed(self, *, placed_since: datetime | None = None, filed: bool = False) -> list[dict]:
        """The store's orders as its list shows them (one call)."""
        self.gate.reserve(1)
        with self.gate.call():
            if self.provider == Provider.BRICKLINK:
                return [
                    {
                        "id": str(o.order_id),
                        "status": o.status,
                        "placed_at": o.date_ordered.isoformat(),
                        "status_changed_at": o.date_status_changed.isoformat(),
                        "buyer_name": o.buyer_name,
                    }
                    for o in self.client.orders(direction="in", filed=filed)
                    if placed_since is None or o.date_ordered >= placed_since
                ]
            since = placed_since or (self.since - timedelta(days=1) if self.since else None)
            order_time = int(since.timestamp()) if since else None
            return [
                {
                    "id": str(o.order_id),
                    "status": o.status,
                    "status_id": o.status_id,
                    "placed_at": o.placed_at.isoformat(),
                }
                for o in self.client.orders(order_time=order_time)
            ]

    def new_or_changed(self, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Of the listed orders, those not stored yet or whose status moved."""
        stored = dict(
            Order.objects.filter(
                account_id=self.account_id,
                provider=self.provider,
                external_id__in=[entry["id"] for entry in listed],
            ).values_list("external_id", "status")
        )
        return [entry for entry in listed if stored.get(entry["id"]) != entry["status"]]

    def fetch(self, entry: dict[str, Any]) -> OrderSnapshot:
        """The order, with what it lacks. Raises the client's errors (NotFound for an order the
        store does not have)."""
        known = Order.objects.filter(
            account_id=self.account_id, provider=self.provider, external_id=entry["id"]
        ).first()
        if self.provider == Provider.BRICKLINK:
            return self._bricklink(entry, known)
        return self._brickowl(entry, known)

    def _wants_items(self, placed_at: datetime | None) -> bool:
        return self.with_history_items or not is_history(placed_at, self.since)

    def _bricklink(self, entry: dict[str, Any], known: Order | None) -> OrderSnapshot:
        """``entry`` learns what the order call answered (kept on the feed by the run), so a
        run that must wait for the items' call never asks for the order again."""
        client, gate = self.client, self.gate
        need_order = "status" not in entry
        # A new order's items are paid for with its details: never the one without the other.
        maybe_items = known is None and (
            need_order or self._wants_items(_when(entry.get("placed_at")))
        )
        gate.reserve(int(need_order) + int(maybe_items))
        if need_order:
            with gate.call():
                order = client.order(entry["id"])
            entry.update(
                status=order.status,
                buyer_name=order.buyer_name,
                placed_at=order.date_ordered.isoformat(),
                status_changed_at=order.date_status_changed.isoformat(),
            )
        placed_at = _when(entry.get("placed_at"))
        new_items = known is None or entry["status"] == "UPDATED"
        lines = None
        if new_items and self._wants_items(placed_at):
            gate.reserve(1)  # paid already, but for an UPDATED order
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
                    marked_item_id=bricklink.marked_item_id(item.remarks),
                )
                for item in items
            )
        status = entry["status"]
        return OrderSnapshot(
            provider=Provider.BRICKLINK,
            external_id=entry["id"],
            status=status,
            state=BRICKLINK_STATES.get(status.upper()),
            placed_at=placed_at or clock.now(),
            status_changed_at=_when(entry.get("status_changed_at")) or clock.now(),
            buyer_name=entry.get("buyer_name", ""),
            lines=lines,
        )

    def _brickowl(self, entry: dict[str, Any], known: Order | None) -> OrderSnapshot:
        client, gate = self.client, self.gate
        new = known is None
        placed_at = _when(entry.get("placed_at")) or (known.placed_at if known else None)
        buyer = known.buyer_name if known else ""
        need_view = new or "status" not in entry  # the list has no buyer; a push has nothing
        gate.reserve(int(need_view) + int(new and self._wants_items(placed_at)))
        if need_view:
            with gate.call():
                order = client.order(entry["id"])
            entry.update(status=order.status, status_id=order.status_id)
            placed_at, buyer = order.placed_at, order.buyer_name
        lines = None
        if new and self._wants_items(placed_at):
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


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _owl_line(item: Any) -> LineSnapshot:
    """A BrickOwl order item in BrickLink's terms, as far as we know them (the matched item's
    part and color are what the API shows; these are for lines no item owns)."""
    part = BrickOwlPart.objects.filter(boid=item.boid).values_list("part_number", flat=True)
    return LineSnapshot(
        lot_id=str(item.lot_id),
        quantity=item.quantity,
        part_number=part.first() or "",
        color_id=None,
        condition="new" if item.condition.startswith("new") else "used",
        unit_price=item.unit_price,
        marked_item_id=brickowl.external_item_id(item.external_id),
    )
