"""A lot's form values as BrickOwl accepts them: validated, normalized, or a 400."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .call import bad

THREE_PLACES = Decimal("0.001")
# condition code -> its short form; the inventory list shows both (``con`` short, ``full_con``
# the code itself: docs/marketplace-formats.md).
CONDITIONS = {
    "new": "new",
    "news": "new",
    "newc": "new",
    "newi": "new",
    "usedc": "used",
    "usedi": "used",
    "usedn": "used",
    "usedg": "used",
    "useda": "used",
    "other": "other",
}


def integer(value: str | None, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise bad(f"{name} must be an integer") from exc


def price_text(value: str | None) -> str:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise bad("price must be a decimal number") from exc
    if not amount.is_finite() or amount < 0:
        raise bad("price must be a non-negative decimal number")
    return str(amount.quantize(THREE_PLACES, ROUND_HALF_UP))


def for_sale(value: str) -> str:
    if value not in ("0", "1"):
        raise bad("for_sale must be 0 or 1")
    return value
