"""Order endpoints: ``order/list``, ``order/view`` and ``order/items``; every value a string.

``order/list`` takes ``order_time`` (orders placed at or after that Unix time), ``limit``
(default 500, at most 5,000), ``list_type`` (``store``, the default, or ``customer``: the
orders the store placed, none in the sandbox), ``sort_by`` (``created``, the default, or
``updated``; newest first) and ``status`` (a name or a status id). Its entries carry
``order_date``; the view carries ``order_time``. Items are a flat list whose ``boid`` carries
the color (``"487300-38"``). An unknown order is a 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marketplaces.sandbox.wire import Response, json_response

from .call import BrickOwlError, Call, bad

# status_id -> name
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
CURRENCY = "USD"
MAX_LIST = 5000
_CENTS = Decimal("0.01")
_ZERO = "0.00"


def status_id_of(raw: Any) -> int | None:
    """A status given as its id (``5``, ``"5"``) or its name (any case); None if unknown."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw in STATUSES else None
    text = str(raw).strip() if isinstance(raw, str) else ""
    if text.isdigit():
        return int(text) if int(text) in STATUSES else None
    return next((key for key, name in STATUSES.items() if name.lower() == text.lower()), None)


def _iso(when: int) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat()


def _totals(order: dict) -> tuple[str, str, str]:
    """Total quantity, lots and the order's total (no shipping or tax in the sandbox)."""
    items = order["items"]
    quantity = sum(int(item["ordered_quantity"]) for item in items)
    total = sum(
        (Decimal(item["base_price"]) * int(item["ordered_quantity"]) for item in items), Decimal(0)
    )
    return str(quantity), str(len(items)), str(total.quantize(_CENTS))


def order_entry(order: dict) -> dict[str, str]:
    """An entry of ``order/list``: ``order_date``, not ``order_time``."""
    quantity, lots, total = _totals(order)
    return {
        "order_id": order["order_id"],
        "order_date": str(order["order_time"]),
        "total_quantity": quantity,
        "total_lots": lots,
        "base_order_total": total,
        "status": STATUSES[order["status_id"]],
        "status_id": str(order["status_id"]),
    }


def order_view(order: dict) -> dict[str, Any]:
    quantity, lots, total = _totals(order)
    buyer = order["buyer_name"]
    first, _, last = buyer.partition(" ")
    fee = round(float(total) * 0.025, 5)
    address = {
        "first_name": first,
        "last_name": last,
        "country_code": "US",
        "country": "United States",
        "post_code": "12345",
        "street_1": "1 Sandbox Lane",
        "street_2": "",
        "city": "Springfield",
        "region": "IL",
        "phone": "",
    }
    return {
        "order_id": order["order_id"],
        "order_time": str(order["order_time"]),
        "processed_time": None,
        "iso_order_time": _iso(order["order_time"]),
        "iso_processed_time": _iso(0),
        "store_id": order["store_id"],
        "ship_method_name": "Standard Shipping",
        "ship_method_id": "1",
        "status": STATUSES[order["status_id"]],
        "status_id": str(order["status_id"]),
        "weight": "0.000",
        "ship_total": _ZERO,
        "buyer_note": "",
        "total_quantity": quantity,
        "total_lots": lots,
        "base_currency": CURRENCY,
        "payment_method_type": "paypal_standard",
        "payment_currency": CURRENCY,
        "payment_total": total,
        "base_order_total": total,
        "sub_total": total,
        "coupon_discount": _ZERO,
        "payment_method_note": "",
        "payment_transaction_id": "",
        "tax_rate": _ZERO,
        "tax_amount": _ZERO,
        "tracking_number": None,
        "tracking_advice": "",
        "buyer_name": buyer,
        "customer_username": order["customer_username"],
        "customer_user_id": order["customer_user_id"],
        "customer_email": order["customer_email"],
        "combine_with": None,
        **dict.fromkeys(
            ("refund_shipping", "refund_adjustment", "refund_subtotal", "refund_total"), _ZERO
        ),
        "refund_note": None,
        "affiliate_fee": 0,
        "brickowl_fee": fee,
        "seller_note": None,
        "message_count": "0",
        **{f"ship_{key}": value for key, value in address.items()},
        **{f"billing_{key}": value for key, value in address.items()},
    }


def _order_or_404(call: Call) -> dict:
    order_id = call.request.query.get("order_id")
    if not order_id:
        raise bad("Missing order_id")
    order = call.account.orders.get(order_id)
    if order is None:
        raise BrickOwlError(404, "Order not found")
    return order


def _whole(query: dict[str, str], name: str, default: int, low: int, top: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or len(raw) > 15 or not low <= int(raw) <= top:
        raise bad(f"{name} must be a whole number from {low} to {top}")
    return int(raw)


def list_orders(call: Call) -> Response:
    query = call.request.query
    since = _whole(query, "order_time", 0, 0, 2**40)
    limit = _whole(query, "limit", 500, 1, MAX_LIST)
    list_type = query.get("list_type") or "store"
    sort_by = query.get("sort_by") or "created"
    if list_type not in ("store", "customer"):
        raise bad("list_type must be store or customer")
    if sort_by not in ("created", "updated"):
        raise bad("sort_by must be created or updated")
    status = None
    if query.get("status"):
        status = status_id_of(query["status"])
        if status is None:
            raise bad(f"Unknown status {query['status']!r}")
    key = "order_time" if sort_by == "created" else "updated_time"
    with call.state.lock:
        orders = [] if list_type == "customer" else list(call.account.orders.values())
        chosen = sorted(
            (
                order
                for order in orders
                if order["order_time"] >= since and status in (None, order["status_id"])
            ),
            key=lambda order: (order[key], int(order["order_id"])),
            reverse=True,
        )
        return json_response(200, [order_entry(order) for order in chosen[:limit]])


def view_order(call: Call) -> Response:
    with call.state.lock:
        return json_response(200, order_view(_order_or_404(call)))


def order_items(call: Call) -> Response:
    with call.state.lock:
        return json_response(200, _order_or_404(call)["items"])
