"""What BrickOwl sends, normalised: numbers as strings, lists that may be anything, BOIDs that
carry their color (``"306255-64"``), Unix times as strings, ``[]`` for an empty object."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplaces.errors import TransientError

PROVIDER = "brickowl"


def price_text(value: Decimal) -> str:
    """A price as BrickOwl takes it: three decimal places."""
    return str(Decimal(value).quantize(Decimal("0.001")))


def malformed(message: str) -> TransientError:
    return TransientError(f"malformed response: {message}", provider=PROVIDER)


def mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise malformed(f"{what} is not an object")
    return data


def integer(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise malformed(f"{what} is not an integer") from None


def list_or_empty(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def is_small_number(value: Any) -> bool:
    """ASCII digits only ("²".isdigit() is true too), and a sane length."""
    text = str(value).strip()
    return text.isascii() and text.isdigit() and len(text) < 19


def decimal(value: Any, what: str) -> Decimal:
    """A price or amount sent as a string ("0.720"); missing is 0, garbage is malformed."""
    if value is None or value == "":
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise malformed(f"{what} is not a number") from None
    if not amount.is_finite():
        raise malformed(f"{what} is not a number")
    return amount


def split_boid(value: Any) -> tuple[str, int | None]:
    """``"306255-64"`` is item ``306255`` in BrickOwl color 64; ``"306255"`` has no color."""
    boid = str(value or "").strip()
    item, dash, color = boid.rpartition("-")
    if dash and item and is_small_number(color):
        return item, int(color)
    return boid, None


def optional_integer(value: Any, what: str) -> int | None:
    return integer(value, what) if value not in (None, "") else None


def unix_time(value: Any) -> datetime | None:
    """A Unix time sent as a string ("1398775922"), aware in UTC; None when unusable."""
    if not is_small_number(value):
        return None
    try:
        return datetime.fromtimestamp(int(str(value).strip()), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def external_other(value: Any) -> str | None:
    """``external_lot_ids.other``: the object, or ``[]`` (PHP's empty object) when none."""
    if isinstance(value, dict) and value.get("other") not in (None, ""):
        return str(value["other"])
    return None
