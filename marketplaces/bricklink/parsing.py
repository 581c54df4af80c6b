"""What BrickLink sends, normalised: entities unescaped, numbers that arrive as strings,
protocol-relative URLs, and anything unusable turned into a classified error."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplaces.errors import TransientError

PROVIDER = "bricklink"
# Integers in BrickLink's answers are ids and quantities: anything this large is garbage.
MAX_INT = 2**63


def plain_text(value: Any) -> str:
    """BrickLink names carry HTML entities (``&#40;``): unescape them."""
    return html.unescape(str(value)) if value is not None else ""


def absolute_url(value: Any) -> str:
    url = str(value or "")
    return f"https:{url}" if url.startswith("//") else url


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.0001")))


def integer(row: dict[str, Any], key: str, *, default: int | None = None) -> int:
    """Integers BrickLink sometimes sends as strings ("12", "+3")."""
    value = row.get(key)
    if value is None or value == "":
        if default is None:
            raise malformed(f"missing {key}")
        return default
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise malformed(f"{key} is not an integer") from None
    # Bounded before int(): int(Decimal("1e999999999")) would build a billion-digit number.
    if not number.is_finite() or abs(number) >= MAX_INT:
        raise malformed(f"{key} is not an integer in range")
    return int(number)


def optional_int(value: Any) -> int | None:
    """An integer that may be missing; anything unusable (``Infinity``, 10^5000) is None."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < MAX_INT else None


def malformed(message: str) -> TransientError:
    return TransientError(f"malformed response: {message}", provider=PROVIDER)


def mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise malformed(f"{what} is not an object")
    return data


def rows(data: Any, what: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise malformed(f"{what} is not a list of objects")
    return data


def timestamp(value: Any) -> datetime | None:
    """BrickLink's ``2013-12-01T18:05:46.123Z``, aware and in UTC; None when missing or
    unreadable (an offset other than Z is honoured; no offset at all is taken as UTC)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def identifier(row: dict[str, Any], key: str) -> str:
    """An id BrickLink documents as a string and sends as an integer: either, as text."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise malformed(f"{key} missing or not an id")
    text = str(value).strip()
    if not text or len(text) > 64:
        raise malformed(f"{key} missing or not an id")
    return text
