"""The marketplace's side of orders, played through ``/_orders``: a buyer places an order, its
status changes.

Placing an order takes the quantity off each lot at once; the lot is kept, at 0 if it sold
out (BrickOwl keeps empty lots: ``absolute_quantity=0`` and ``active_only=0`` exist for them),
and the order item says what is left (``remaining_quantity``). A line asking more than its lot
holds refuses the whole order and changes nothing. Cancelling (status 8) does NOT put anything
back (docs/marketplace-formats.md 4.3). Only a placed order is pushed (4.4). Caller holds
``state.lock`` throughout.
"""

from __future__ import annotations

import re
import time
import zlib
from typing import Any

from marketplaces.sandbox.accounts import BRICKOWL, BrickOwlAccount
from marketplaces.sandbox.errors import ControlError, ControlNotFound
from marketplaces.sandbox.state import SandboxState

from .lots import boid_and_color
from .orders import STATUSES, status_id_of

CANCELLED = 8
# full condition code -> what an order item shows as its condition
CONDITION_NAMES = {
    "new": "New",
    "news": "New (Sealed)",
    "newc": "New (Complete)",
    "newi": "New (Incomplete)",
    "usedc": "Used (Complete)",
    "usedi": "Used (Incomplete)",
    "usedn": "Used (Like New)",
    "usedg": "Used (Good)",
    "useda": "Used (Acceptable)",
    "other": "Other",
}


def _check(account: BrickOwlAccount, lines: list[tuple[Any, int]]) -> dict[str, int]:
    """Lot id -> quantity, every line checked against its lot before anything is taken."""
    wanted: dict[str, int] = {}
    for raw_lot, quantity in lines:
        if isinstance(raw_lot, bool) or not isinstance(raw_lot, int | str):
            raise ControlError(f"a BrickOwl lot_id is a string of digits, not {raw_lot!r}")
        key = str(raw_lot)
        if key in wanted:
            raise ControlError(f"lot {key} is on two lines of the order")
        lot = account.lots.get(key)
        if lot is None:
            raise ControlNotFound(f"no lot {key} in this store")
        if lot["for_sale"] != "1":
            raise ControlError(f"lot {key} is not for sale")
        if quantity > int(lot["qty"]):
            raise ControlError(
                f"lot {key} holds {lot['qty']}, the order asks for {quantity}: refused"
            )
        wanted[key] = quantity
    return wanted


def _order_item(state: SandboxState, lot: dict, quantity: int) -> dict[str, Any]:
    boid, color_id = boid_and_color(lot)
    item = state.catalog.boids.get(boid)
    color = state.catalog.brickowl_colors.get(color_id)
    color_name = color.name if color is not None else ""
    name = f"{item.plain_name} ({item.no})" if item is not None else boid
    order_item = {
        "image_small": f"//img.brickowl.com/files/image_cache/small/{lot['boid']}.png",
        "condition": CONDITION_NAMES.get(lot["full_con"], "Other"),
        "full_con": lot["full_con"],
        "name": f"LEGO {color_name} {name}" if color_name else f"LEGO {name}",
        "type": lot["type"],
        "boid": lot["boid"],
        "personal_note": lot["personal_note"],
        "bl_lot_id": None,
        "external_lot_ids": lot["external_lot_ids"],
        "remaining_quantity": str(int(lot["qty"]) - quantity),
        "weight": "0.000",
        "public_note": lot["public_note"],
        "ordered_quantity": str(quantity),
        "refunded_quantity": "0",
        "order_item_id": str(state.new_order_number("brickowl_item")),
        "base_price": lot["price"],
        "lot_id": lot["lot_id"],
        "ids": [{"id": lot["boid"], "type": "boid"}],
    }
    if color_id:
        order_item.update(color_name=color_name, color_id=color_id)
    return order_item


def place(
    state: SandboxState, account: BrickOwlAccount, buyer: str, lines: list[tuple[Any, int]]
) -> dict:
    """A new Pending order of ``lines`` (lot id, quantity), its stock taken."""
    wanted = _check(account, lines)
    order_id = str(state.new_order_number(BRICKOWL))
    items = []
    for key, quantity in wanted.items():
        lot = account.lots[key]
        items.append(_order_item(state, lot, quantity))
        before = int(lot["qty"])
        lot["qty"] = str(before - quantity)
        state.record(
            provider=BRICKOWL,
            account=account.key,
            op="order",
            lot_id=key,
            fields={"order_id": order_id, "quantity": quantity, "removed": False},
            before=before,
            after=before - quantity,
        )
    now = time.time()
    username = re.sub(r"[^a-z0-9]+", "_", buyer.lower()).strip("_") or "buyer"
    order = {
        "order_id": order_id,
        "order_time": int(now),
        "updated_time": now,  # precise: it orders sort_by=updated
        "status_id": 0,
        "store_id": account.store_id,
        "buyer_name": buyer,
        "customer_username": username,
        "customer_user_id": str(100000 + zlib.crc32(username.encode()) % 900000),
        "customer_email": f"{username}@buyers.example",
        "items": items,
    }
    account.orders[order_id] = order
    return order


def find(account: BrickOwlAccount, order_id: Any) -> dict:
    order = account.orders.get(str(order_id)) if isinstance(order_id, int | str) else None
    if order is None:
        raise ControlNotFound(f"no BrickOwl order {order_id!r} in this store")
    return order


def set_status(order: dict, raw: Any) -> None:
    """A status by name (any case) or id, 0 to 8; no stock moves, not even on Cancelled."""
    status_id = None if isinstance(raw, bool) else status_id_of(raw)
    if status_id is None:
        names = ", ".join(f"{key} {name}" for key, name in STATUSES.items())
        raise ControlError(f"status must be one of {names}, not {raw!r}")
    if order["status_id"] == CANCELLED and status_id != CANCELLED:
        raise ControlError(f"order {order['order_id']} is Cancelled: it stays so")
    order["status_id"] = status_id
    order["updated_time"] = time.time()
