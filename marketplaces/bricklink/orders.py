"""A store's orders and its notifications: the list, one order, its items, the unread events.

Statuses are kept as BrickLink's own words, uppercased: the list is not closed (PAID-PENDING
arrived in 2025 and broke a well-known sync tool), so an unknown word is data, never an error.
An order's items come as a list of batches (a buyer can add to an order): they are flattened.
``GET /notifications`` answers the unread events; reading them may consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .base import BrickLinkBase
from .parsing import (
    decimal_or_none,
    identifier,
    integer,
    malformed,
    mapping,
    plain_text,
    rows,
    timestamp,
)

DIRECTIONS = ("in", "out")
EVENT_TYPES = ("Order", "Message", "Feedback")


@dataclass(frozen=True)
class BrickLinkOrder:
    order_id: str
    date_ordered: datetime  # aware, UTC
    date_status_changed: datetime
    buyer_name: str
    status: str  # BrickLink's word, uppercased: PENDING, PAID-PENDING, ... or anything new


@dataclass(frozen=True)
class BrickLinkOrderItem:
    inventory_id: int  # the lot it was sold from
    item_no: str
    item_type: str
    color_id: int
    quantity: int
    new_or_used: str  # "N" or "U"
    unit_price: Decimal
    remarks: str = ""  # the lot's private remarks at the sale (where our marker is)


@dataclass(frozen=True)
class BrickLinkNotification:
    event_type: str  # "Order", "Message", "Feedback" (another word is kept, capitalised)
    resource_id: str  # the order id for an Order event
    timestamp: datetime | None


class OrderCalls(BrickLinkBase):
    def orders(
        self, *, direction: str = "in", filed: bool = False, status: str | None = None
    ) -> list[BrickLinkOrder]:
        """The store's orders (no paging). Filed orders only with ``filed=True``; ``status``
        is BrickLink's comma list (``"pending,paid"``, ``"-purged"``), passed as is."""
        if direction not in DIRECTIONS:
            raise ValueError("direction must be in or out")
        params: dict[str, Any] = {"direction": direction}
        if filed:
            params["filed"] = "true"
        if status is not None:
            params["status"] = status
        return self._request(
            "GET",
            "/orders",
            lambda data: [parse_order(row) for row in rows(data, "orders")],
            params=params,
        )

    def order(self, order_id: str) -> BrickLinkOrder:
        return self._request(
            "GET",
            "/orders/{id}",
            lambda data: parse_order(mapping(data, "order")),
            path_params={"id": order_id},
        )

    def order_items(self, order_id: str) -> list[BrickLinkOrderItem]:
        """Every line of the order, its batches flattened (a PURGED order has none)."""
        return self._request(
            "GET",
            "/orders/{id}/items",
            lambda data: [parse_order_item(row) for row in flat_batches(data)],
            path_params={"id": order_id},
        )

    def notifications(self) -> list[BrickLinkNotification]:
        """The unread notifications (BrickLink may mark them read as it answers)."""
        return self._request(
            "GET",
            "/notifications",
            lambda data: [parse_notification(row) for row in rows(data, "notifications")],
        )


def status_word(value: Any) -> str:
    return str(value).strip().upper() if value is not None else ""


def parse_order(row: dict[str, Any]) -> BrickLinkOrder:
    ordered = timestamp(row.get("date_ordered"))
    changed = timestamp(row.get("date_status_changed"))
    if ordered is None and changed is None:
        raise malformed("order has no readable date_ordered")
    return BrickLinkOrder(
        order_id=identifier(row, "order_id"),
        date_ordered=ordered or changed,
        date_status_changed=changed or ordered,
        buyer_name=plain_text(row.get("buyer_name")),
        status=status_word(row.get("status")),
    )


def flat_batches(data: Any) -> list[dict[str, Any]]:
    """``[[item, ...], [item]]`` flattened; a flat ``[item, ...]`` is taken as it is."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise malformed("order items are not a list of batches")
    items: list[dict[str, Any]] = []
    for batch in data:
        if isinstance(batch, dict):
            items.append(batch)
        elif isinstance(batch, list) and all(isinstance(item, dict) for item in batch):
            items.extend(batch)
        else:
            raise malformed("an order batch is not a list of objects")
    return items


def parse_order_item(row: dict[str, Any]) -> BrickLinkOrderItem:
    # item.categoryID (the examples) or item.category_id (the field table): neither is kept.
    item = row.get("item") if isinstance(row.get("item"), dict) else {}
    price = decimal_or_none(row.get("unit_price"))
    if price is None:
        price = decimal_or_none(row.get("unit_price_final")) or Decimal(0)
    return BrickLinkOrderItem(
        inventory_id=integer(row, "inventory_id"),
        item_no=str(item.get("no") or ""),
        item_type=str(item.get("type") or "").upper(),
        color_id=integer(row, "color_id", default=0),
        quantity=integer(row, "quantity"),
        new_or_used=str(row.get("new_or_used") or "").strip().upper(),
        unit_price=price,
        remarks=plain_text(row.get("remarks")),
    )


def event_type(value: Any) -> str:
    """Case-insensitive: ``ORDER`` and ``order`` are ``Order``."""
    word = str(value).strip() if value is not None else ""
    for known in EVENT_TYPES:
        if word.lower() == known.lower():
            return known
    return word.capitalize()


def parse_notification(row: dict[str, Any]) -> BrickLinkNotification:
    return BrickLinkNotification(
        event_type=event_type(row.get("event_type")),
        resource_id=identifier(row, "resource_id"),
        timestamp=timestamp(row.get("timestamp")),
    )
