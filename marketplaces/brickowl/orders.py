"""A store's orders: the list, one order, its items.

Every value comes as a string. The list's entries carry ``order_date`` and the view
``order_time`` (both Unix times; either is accepted in both). An item's ``boid`` carries the
color (``"487300-38"``): it is split back into the item's BOID and the color.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .base import BrickOwlBase
from .parsing import (
    decimal,
    external_other,
    integer,
    is_small_number,
    malformed,
    mapping,
    optional_integer,
    split_boid,
    unix_time,
)

MAX_ORDER_LIST = 5000
LIST_TYPES = ("store", "customer")
SORT_BY = ("created", "updated")
# status_id -> BrickOwl's name for it
STATUSES = {
    0: "Pending",
    1: "Payment Submitted",
    2: "Payment Received",
    3: "Processing",
    4: "Processed",
    5: "Shipped",
    6: "Received",
    7: "On Hold",
    8: "Cancelled",
}
UNKNOWN_STATUS_ID = -1


@dataclass(frozen=True)
class BrickOwlOrderSummary:
    order_id: str
    placed_at: datetime  # aware, UTC
    status: str
    status_id: int  # -1 when BrickOwl sent neither a usable id nor a known name


@dataclass(frozen=True)
class BrickOwlOrder:
    order_id: str
    placed_at: datetime
    status: str
    status_id: int
    buyer_name: str


@dataclass(frozen=True)
class BrickOwlOrderItem:
    lot_id: str  # the lot it was sold from
    boid: str  # the item's BOID, without the color suffix
    color_id: int | None  # BrickOwl's color id
    condition: str  # the full code (usedn) when sent, else "new" or "used"
    quantity: int
    unit_price: Decimal
    external_id: str | None  # external_lot_ids.other: ours (brickops-ID) or the seller's


class OrderCalls(BrickOwlBase):
    def orders(
        self,
        *,
        order_time: int | None = None,
        limit: int = MAX_ORDER_LIST,
        list_type: str = "store",
        sort_by: str = "updated",
        status: str | None = None,
    ) -> list[BrickOwlOrderSummary]:
        """Orders placed at or after ``order_time`` (Unix time), at most ``limit``;
        ``status`` is a name or a status id."""
        if not 1 <= limit <= MAX_ORDER_LIST:
            raise ValueError(f"limit must be between 1 and {MAX_ORDER_LIST}")
        if list_type not in LIST_TYPES or sort_by not in SORT_BY:
            raise ValueError("list_type must be store or customer, sort_by created or updated")
        params: dict[str, Any] = {"limit": limit, "list_type": list_type, "sort_by": sort_by}
        if order_time is not None:
            params["order_time"] = int(order_time)
        if status is not None:
            params["status"] = status
        return self._get(
            "/order/list",
            lambda data: [parse_summary(row) for row in order_rows(data)],
            params,
        )

    def order(self, order_id: str) -> BrickOwlOrder:
        return self._get(
            "/order/view", lambda data: parse_order(mapping(data, "order")), {"order_id": order_id}
        )

    def order_items(self, order_id: str) -> list[BrickOwlOrderItem]:
        def parse(data: Any) -> list[BrickOwlOrderItem]:
            return [parse_item(mapping(row, "order item")) for row in order_rows(data)]

        return self._get("/order/items", parse, {"order_id": order_id})


def order_rows(data: Any) -> list[Any]:
    """A JSON list; an object keyed by id is taken as its values (``{}`` is none)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and all(isinstance(row, dict) for row in data.values()):
        return list(data.values())
    raise malformed("orders are not a list")


def order_id_of(row: dict[str, Any]) -> str:
    value = row.get("order_id")
    text = str(value).strip() if isinstance(value, int | str) else ""
    if isinstance(value, bool) or not text or len(text) > 64:
        raise malformed("order_id missing or not an id")
    return text


def placed_at(row: dict[str, Any]) -> datetime:
    for key in ("order_date", "order_time"):
        when = unix_time(row.get(key))
        if when is not None:
            return when
    raise malformed("order has no readable order_date or order_time")


def status_of(row: dict[str, Any]) -> tuple[str, int]:
    """The status name and id; either may be missing, an unknown one is kept."""
    name = str(row.get("status") or "").strip()
    raw_id = row.get("status_id")
    if is_small_number(raw_id):
        status_id = int(str(raw_id).strip())
    else:
        by_name = {known.lower(): number for number, known in STATUSES.items()}
        status_id = by_name.get(name.lower(), UNKNOWN_STATUS_ID)
    return name or STATUSES.get(status_id, ""), status_id


def parse_summary(row: Any) -> BrickOwlOrderSummary:
    row = mapping(row, "order")
    status, status_id = status_of(row)
    return BrickOwlOrderSummary(
        order_id=order_id_of(row), placed_at=placed_at(row), status=status, status_id=status_id
    )


def parse_order(row: dict[str, Any]) -> BrickOwlOrder:
    status, status_id = status_of(row)
    buyer = row.get("buyer_name") or row.get("customer_username") or ""
    return BrickOwlOrder(
        order_id=order_id_of(row),
        placed_at=placed_at(row),
        status=status,
        status_id=status_id,
        buyer_name=str(buyer),
    )


def condition_of(row: dict[str, Any]) -> str:
    """``full_con`` (usedn) when sent; else the display text: "New..." is new, else used."""
    code = str(row.get("full_con") or "").strip()
    if code:
        return code
    return "new" if str(row.get("condition") or "").strip().lower().startswith("new") else "used"


def parse_item(row: dict[str, Any]) -> BrickOwlOrderItem:
    boid, suffix_color = split_boid(row.get("boid"))
    color = optional_integer(row.get("color_id"), "color_id")
    lot_id = row.get("lot_id")
    if lot_id in (None, ""):
        raise malformed("order item has no lot_id")
    return BrickOwlOrderItem(
        lot_id=str(lot_id),
        boid=boid,
        color_id=suffix_color if color is None else color,
        condition=condition_of(row),
        quantity=integer(row.get("ordered_quantity"), "ordered_quantity"),
        unit_price=decimal(row.get("base_price"), "base_price"),
        external_id=external_other(row.get("external_lot_ids")),
    )
