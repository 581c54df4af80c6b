"""The marketplace's side of orders, played through ``/_orders``: a buyer places an order,
adds to it, its status changes, the seller files it.

Placing an order takes the quantity off each lot at once, as BrickLink does; a lot that
reaches 0 is removed unless it ``is_retain``. A line asking more than its lot holds refuses the
whole order and changes nothing. Cancelling does NOT put anything back (the seller restocks
by hand: docs/marketplace-formats.md 1.6). Every event but filing leaves an unread ``Order``
notification, whose push the caller plans. Caller holds ``state.lock`` throughout.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marketplaces.sandbox.accounts import BRICKLINK, BrickLinkAccount
from marketplaces.sandbox.errors import ControlError, ControlNotFound
from marketplaces.sandbox.state import SandboxState, iso_now

from .orders import CURRENCY
from .values import FOUR_PLACES

STATUSES = (
    "PENDING",
    "UPDATED",
    "PROCESSING",
    "READY",
    "PAID",
    "PAID-PENDING",
    "PACKED",
    "SHIPPED",
    "RECEIVED",
    "COMPLETED",
    "OCR",
    "NPB",
    "NPX",
    "NRS",
    "NSS",
    "CANCELLED",
    "PURGED",
)
# A cancelled order cannot be reinstated (it can still be purged); a purged one is gone.
_FINAL = {"CANCELLED": {"PURGED"}, "PURGED": set()}


def _lot_key(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 19:
        return int(raw)
    raise ControlError(f"a BrickLink lot_id is an integer, not {raw!r}")


def _order_line(lot: dict, quantity: int) -> dict[str, Any]:
    """An order item: the lot as it was when sold (its price after the sale rate)."""
    price = Decimal(lot["unit_price"])
    final = str((price * (100 - lot.get("sale_rate", 0)) / 100).quantize(FOUR_PLACES))
    item = lot["item"]
    line: dict[str, Any] = {
        "inventory_id": lot["inventory_id"],
        "item": {
            "no": item["no"],
            "name": item["name"],
            "type": item["type"],
            "categoryID": item["category_id"],
        },
        "color_id": lot["color_id"],
        "color_name": lot["color_name"],
        "quantity": quantity,
        "new_or_used": lot["new_or_used"],
        "unit_price": lot["unit_price"],
        "unit_price_final": final,
        "disp_unit_price": lot["unit_price"],
        "disp_unit_price_final": final,
        "currency_code": CURRENCY,
        "disp_currency_code": CURRENCY,
        "remarks": lot["remarks"],
        "description": lot["description"],
    }
    if "completeness" in lot:
        line["completeness"] = lot["completeness"]
    return line


def _check(account: BrickLinkAccount, lines: list[tuple[Any, int]]) -> dict[int, int]:
    """Lot id -> quantity, every line checked against its lot before anything is taken."""
    wanted: dict[int, int] = {}
    for raw_lot, quantity in lines:
        key = _lot_key(raw_lot)
        if key in wanted:
            raise ControlError(f"lot {key} is on two lines of the order")
        lot = account.lots.get(key)
        if lot is None:
            raise ControlNotFound(f"no lot {key} in this store")
        if lot["is_stock_room"]:
            raise ControlError(f"lot {key} is in a stockroom: buyers cannot see it")
        if quantity > lot["quantity"]:
            raise ControlError(
                f"lot {key} holds {lot['quantity']}, the order asks for {quantity}: refused"
            )
        wanted[key] = quantity
    return wanted


def _take(
    state: SandboxState, account: BrickLinkAccount, wanted: dict[int, int], order_id: int
) -> list[dict]:
    """Take the checked lines off their lots; answers the batch of order items."""
    batch = []
    for key, quantity in wanted.items():
        lot = account.lots[key]
        batch.append(_order_line(lot, quantity))
        before = lot["quantity"]
        lot["quantity"] = before - quantity
        removed = lot["quantity"] == 0 and not lot["is_retain"]
        if removed:
            del account.lots[key]
        state.record(
            provider=BRICKLINK,
            account=account.consumer_key,
            op="order",
            lot_id=key,
            fields={"order_id": order_id, "quantity": quantity, "removed": removed},
            before=before,
            after=before - quantity,
        )
    return batch


def _notify(account: BrickLinkAccount, order: dict) -> None:
    account.notifications.append(
        {"event_type": "Order", "resource_id": order["order_id"], "timestamp": iso_now()}
    )


def _email(buyer: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", buyer.lower()).strip(".") + "@buyers.example"


def place(
    state: SandboxState, account: BrickLinkAccount, buyer: str, lines: list[tuple[Any, int]]
) -> dict:
    """A new PENDING order of ``lines`` (lot id, quantity), its stock taken."""
    wanted = _check(account, lines)
    order_id = state.new_order_number(BRICKLINK)
    batch = _take(state, account, wanted, order_id)
    now = iso_now()
    same_buyer = sum(1 for order in account.orders.values() if order["buyer_name"] == buyer)
    order = {
        "order_id": order_id,
        "date_ordered": now,
        "date_status_changed": now,
        "buyer_name": buyer,
        "buyer_email": _email(buyer),
        "buyer_order_count": same_buyer + 1,
        "status": "PENDING",
        "is_filed": False,
        "payment": {"method": "PayPal", "currency_code": CURRENCY, "status": "None"},
        "shipping": {
            "method_id": 1,
            "method": "Standard",
            "address": {
                "name": {"full": buyer},
                "full": f"{buyer}\n1 Sandbox Lane\nSpringfield",
                "country_code": "US",
            },
        },
        "batches": [batch],
    }
    account.orders[order_id] = order
    _notify(account, order)
    return order


def find(account: BrickLinkAccount, order_id: Any) -> dict:
    order = account.orders.get(order_id) if isinstance(order_id, int) else None
    if order is None and isinstance(order_id, str) and order_id.isdigit() and len(order_id) < 19:
        order = account.orders.get(int(order_id))
    if order is None:
        raise ControlNotFound(f"no BrickLink order {order_id!r} in this store")
    return order


def _change_status(order: dict, status: str) -> None:
    allowed = _FINAL.get(order["status"])
    if allowed is not None and status not in allowed:
        raise ControlError(f"order {order['order_id']} is {order['status']}: it stays so")
    order["status"] = status
    order["date_status_changed"] = iso_now()


def add(
    state: SandboxState, account: BrickLinkAccount, order: dict, lines: list[tuple[Any, int]]
) -> None:
    """The buyer adds a batch to the order: its stock taken, the order UPDATED."""
    if order["status"] in _FINAL:
        raise ControlError(f"order {order['order_id']} is {order['status']}: nothing to add to")
    batch = _take(state, account, _check(account, lines), order["order_id"])
    order["batches"].append(batch)
    _change_status(order, "UPDATED")
    _notify(account, order)


def set_status(account: BrickLinkAccount, order: dict, raw: Any) -> None:
    """Any of BrickLink's statuses (case-insensitive); no stock moves, not even on CANCELLED."""
    status = raw.strip().upper() if isinstance(raw, str) else None
    if status not in STATUSES:
        raise ControlError(f"status must be one of {', '.join(STATUSES)}, not {raw!r}")
    _change_status(order, status)
    _notify(account, order)


def file(order: dict, filed: Any) -> None:
    """The seller files (or unfiles) the order: ``GET /orders`` leaves it out by default."""
    if not isinstance(filed, bool):
        raise ControlError("filed must be true or false")
    order["is_filed"] = filed
