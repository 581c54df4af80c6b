"""The values of a lot as BrickLink accepts them: validated, normalized, or a 400."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .envelope import invalid

FOUR_PLACES = Decimal("0.0001")

_TEXT_FIELDS = ("description", "remarks", "stock_room_id")
_BOOL_FIELDS = ("is_retain", "is_stock_room")
# integer field -> its minimum
_INT_FIELDS = {
    "bulk": 1,
    "sale_rate": 0,
    "tier_quantity1": 0,
    "tier_quantity2": 0,
    "tier_quantity3": 0,
}
_MONEY_FIELDS = ("my_cost", "tier_price1", "tier_price2", "tier_price3")
_DELTA = re.compile(r"^\s*[+-]?\d+\s*$")


def _money(value: Any, name: str) -> str:
    """A non-negative amount as BrickLink writes it: a string with four decimal places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(f"{name} must be a decimal number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise invalid(f"{name} must be a decimal number, not {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise invalid(f"{name} must be a non-negative decimal number, not {value!r}")
    return str(amount.quantize(FOUR_PLACES, ROUND_HALF_UP))


def integer(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise invalid(f"{name} must be an integer")
    if isinstance(value, str) and _DELTA.match(value):
        value = int(value)
    if not isinstance(value, int) or value < minimum:
        raise invalid(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"{name} must be true or false, not {value!r}")


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string")
    return value


def quantity_delta(value: Any) -> int:
    """``"+3"``, ``"-2"`` and plain integers alike are added to the current quantity."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DELTA.match(value):
        return int(value)
    raise invalid(f"quantity must be a signed integer such as '+3' or '-2', not {value!r}")


def optional_fields(body: dict) -> dict[str, Any]:
    """The free-form lot fields present in ``body``, validated and normalized."""
    fields: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        if name in body:
            fields[name] = _text(body[name], name)
    for name in _BOOL_FIELDS:
        if name in body:
            fields[name] = _boolean(body[name], name)
    for name, minimum in _INT_FIELDS.items():
        if name in body:
            fields[name] = integer(body[name], name, minimum=minimum)
    if "sale_rate" in fields and fields["sale_rate"] > 99:
        raise invalid("sale_rate must be between 0 and 99")
    for name in _MONEY_FIELDS:
        if name in body:
            fields[name] = _money(body[name], name)
    if "unit_price" in body:
        fields["unit_price"] = _money(body["unit_price"], "unit_price")
    return fields
