"""Order endpoints: the list, one order, its items (a list of batches), the notifications.

``GET /orders``: no paging, newest first; ``direction=in`` (the default) is the store's
orders, ``out`` the orders it placed (none in the sandbox); filed orders are left out unless
``filed=true``, which answers the filed ones only; ``status`` is a comma list matched
case-insensitively, a leading ``-`` excluding a status. ``GET /orders/{id}/items`` of a PURGED
order is an empty list. ``GET /notifications`` answers the unread notifications and so marks
them read. Orders are kept as the full order resource minus its computed fields (counts,
costs): :func:`order_view` and :func:`order_summary` render them, null fields left out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marketplaces.sandbox.wire import Response

from .call import Call
from .envelope import invalid, not_found, ok
from .values import FOUR_PLACES

SELLER_NAME = "sandbox_seller"
STORE_NAME = "Sandbox Bricks"
CURRENCY = "USD"
_COST_EXTRAS = ("etc1", "etc2", "insurance", "shipping", "credit", "coupon")


def order_items(order: dict) -> list[dict]:
    """The order's lines, its batches flattened (none once PURGED)."""
    if order["status"] == "PURGED":
        return []
    return [item for batch in order["batches"] for item in batch]


def item_batches(order: dict) -> list[list[dict]]:
    return [] if order["status"] == "PURGED" else order["batches"]


def _money(amount: Decimal) -> str:
    return str(amount.quantize(FOUR_PLACES))


def _costs(order: dict) -> tuple[dict, dict]:
    lines = [item for batch in order["batches"] for item in batch]
    subtotal = sum(
        (Decimal(item["unit_price_final"]) * item["quantity"] for item in lines), Decimal(0)
    )
    short = {
        "currency_code": CURRENCY,
        "subtotal": _money(subtotal),
        "grand_total": _money(subtotal),
    }
    full = {
        **short,
        **dict.fromkeys(_COST_EXTRAS, "0.0000"),
        "salesTax_collected_by_BL": "0.0000",
        "final_total": _money(subtotal),
        "vat_rate": "0.00",
        "vat_amount": "0.0000",
    }
    return short, full


def order_summary(order: dict) -> dict[str, Any]:
    """An entry of ``GET /orders``."""
    lines = [item for batch in order["batches"] for item in batch]
    short, _ = _costs(order)
    return {
        "order_id": order["order_id"],
        "date_ordered": order["date_ordered"],
        "date_status_changed": order["date_status_changed"],
        "seller_name": SELLER_NAME,
        "store_name": STORE_NAME,
        "buyer_name": order["buyer_name"],
        "total_count": sum(item["quantity"] for item in lines),
        "unique_count": len(lines),
        "status": order["status"],
        "payment": order["payment"],
        "cost": short,
        "disp_cost": short,
    }


def order_view(order: dict) -> dict[str, Any]:
    """``GET /orders/{id}``: the summary's fields and the rest of the resource."""
    summary = order_summary(order)
    _, full = _costs(order)
    return {
        "order_id": order["order_id"],
        "date_ordered": order["date_ordered"],
        "date_status_changed": order["date_status_changed"],
        "seller_name": SELLER_NAME,
        "store_name": STORE_NAME,
        "buyer_name": order["buyer_name"],
        "buyer_email": order["buyer_email"],
        "buyer_order_count": order["buyer_order_count"],
        "require_insurance": False,
        "status": order["status"],
        "is_invoiced": False,
        "is_filed": order["is_filed"],
        "drive_thru_sent": False,
        "salesTax_collected_by_bl": False,
        "total_count": summary["total_count"],
        "unique_count": summary["unique_count"],
        "total_weight": "0",
        "payment": order["payment"],
        "shipping": order["shipping"],
        "cost": full,
        "disp_cost": full,
    }


def _order_or_404(call: Call) -> dict:
    key = call.params[0]
    order = call.account.orders.get(int(key)) if key.isdigit() and len(key) < 19 else None
    if order is None:
        raise not_found(f"The order {key} does not exist")
    return order


def status_filter(raw: str | None) -> tuple[set[str], set[str]]:
    """``pending,-purged`` as (statuses wanted, statuses excluded), uppercased."""
    wanted: set[str] = set()
    excluded: set[str] = set()
    for word in (raw or "").split(","):
        word = word.strip().upper()
        if word.startswith("-") and word[1:]:
            excluded.add(word[1:])
        elif word:
            wanted.add(word)
    return wanted, excluded


def list_orders(call: Call) -> Response:
    query = call.request.query
    direction = (query.get("direction") or "in").lower()
    if direction not in ("in", "out"):
        raise invalid(f"direction must be in or out, not {query['direction']!r}")
    filed = (query.get("filed") or "false").lower()
    if filed not in ("true", "false"):
        raise invalid(f"filed must be true or false, not {query['filed']!r}")
    wanted, excluded = status_filter(query.get("status"))
    with call.state.lock:
        orders = [] if direction == "out" else list(call.account.orders.values())
        chosen = [
            order_summary(order)
            for order in sorted(orders, key=lambda order: order["order_id"], reverse=True)
            if order["is_filed"] == (filed == "true")
            and (not wanted or order["status"] in wanted)
            and order["status"] not in excluded
        ]
        return ok(chosen)


def get_order(call: Call) -> Response:
    with call.state.lock:
        return ok(order_view(_order_or_404(call)))


def get_order_items(call: Call) -> Response:
    with call.state.lock:
        return ok(item_batches(_order_or_404(call)))


def get_notifications(call: Call) -> Response:
    with call.state.lock:
        unread, call.account.notifications = call.account.notifications, []
    return ok(unread)
