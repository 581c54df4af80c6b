"""The price guide: made up, but stable for a seed and its parameters."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketplaces.sandbox.catalog import Catalog, Item
from marketplaces.sandbox.wire import Response

from .call import Call
from .catalog import item_or_404
from .envelope import cached_ok, invalid
from .values import FOUR_PLACES

# Rough rates against USD: enough for "the answer is in the currency asked for".
CURRENCY_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CAD": Decimal("1.36"),
    "AUD": Decimal("1.52"),
    "NZD": Decimal("1.65"),
    "CHF": Decimal("0.88"),
    "DKK": Decimal("6.87"),
    "SEK": Decimal("10.50"),
    "NOK": Decimal("10.60"),
    "PLN": Decimal("4.00"),
    "CZK": Decimal("23.00"),
    "HUF": Decimal("360.00"),
    "JPY": Decimal("150.00"),
    "HKD": Decimal("7.80"),
    "SGD": Decimal("1.35"),
    "MXN": Decimal("17.00"),
    "BRL": Decimal("5.00"),
}
# vat=N: without VAT; Y: with the seller's VAT; O: with Norway's VAT.
VAT_FACTORS = {"N": Decimal("1"), "Y": Decimal("1.20"), "O": Decimal("1.25")}
_COUNTRIES = ("US", "DE", "GB", "NL", "FR", "CA", "AU", "PL", "CZ", "SE", "IT", "ES", "JP")
_GUIDE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PriceQuery:
    color_id: int | None
    guide_type: str
    new_or_used: str
    currency_code: str
    vat: str


def price_query(query: dict[str, str]) -> PriceQuery:
    """The price guide's parameters with BrickLink's defaults, or a 400."""
    guide_type = query.get("guide_type") or "stock"
    new_or_used = query.get("new_or_used") or "N"
    currency = (query.get("currency_code") or "USD").upper()
    vat = query.get("vat") or "N"
    if guide_type not in ("stock", "sold"):
        raise invalid(f"guide_type must be stock or sold, not {guide_type!r}")
    if new_or_used not in ("N", "U"):
        raise invalid(f"new_or_used must be N or U, not {new_or_used!r}")
    if currency not in CURRENCY_RATES:
        raise invalid(f"Unsupported currency_code {currency!r}")
    if vat not in VAT_FACTORS:
        raise invalid(f"vat must be N, Y or O, not {vat!r}")
    color = query.get("color_id")
    if color is not None and not color.isdigit():
        raise invalid(f"color_id must be an integer, not {color!r}")
    return PriceQuery(int(color) if color else None, guide_type, new_or_used, currency, vat)


def price_resource(path: str, query: dict[str, str]) -> str:
    """The price guide's identity for ``/_calls``: color, guide type and condition."""
    color = query.get("color_id")
    guide = query.get("guide_type") or "stock"
    condition = query.get("new_or_used") or "N"
    color_part = f"color_id={color}&" if color is not None else ""
    return f"{path}?{color_part}guide_type={guide}&new_or_used={condition}"


def _money4(amount: Decimal) -> str:
    return str(amount.quantize(FOUR_PLACES, ROUND_HALF_UP))


def price_guide(catalog: Catalog, item: Item, query: PriceQuery) -> dict:
    """A made-up but stable price guide: same seed and parameters, same answer."""
    head = {
        "item": {"no": item.no, "type": item.type},
        "new_or_used": query.new_or_used,
        "currency_code": query.currency_code,
    }
    if query.color_id is not None and query.color_id not in item.color_ids:
        zero = "0.0000"
        return {
            **head,
            **dict.fromkeys(("min_price", "max_price", "avg_price", "qty_avg_price"), zero),
            "unit_quantity": 0,
            "total_quantity": 0,
            "price_detail": [],
        }
    rng = random.Random(  # noqa: S311 - a replayable guide, not a secret
        f"price:{catalog.seed}:{item.type}:{item.no}:{query.color_id}:"
        f"{query.guide_type}:{query.new_or_used}"
    )
    factor = CURRENCY_RATES[query.currency_code] * VAT_FACTORS[query.vat]
    base = item.base_price * Decimal(str(round(rng.uniform(0.7, 1.6), 3)))
    if query.new_or_used == "U":
        base *= Decimal("0.6")
    if query.guide_type == "sold":
        base *= Decimal("0.9")
    max_quantity = 3 if item.type == "SET" else 500
    lots = []
    for _ in range(rng.randint(3, 40)):
        price = (base * Decimal(str(round(rng.uniform(0.6, 1.8), 3))) * factor).quantize(
            FOUR_PLACES, ROUND_HALF_UP
        )
        lots.append((rng.randint(1, max_quantity), max(price, FOUR_PLACES)))
    total = sum(quantity for quantity, _ in lots)
    prices = [price for _, price in lots]
    details = []
    for quantity, price in sorted(lots, key=lambda lot: lot[1])[:8]:
        detail: dict[str, Any] = {"quantity": quantity, "unit_price": _money4(price)}
        if query.guide_type == "stock":
            detail["shipping_available"] = rng.random() < 0.9
        else:
            ordered = _GUIDE_EPOCH - timedelta(
                days=rng.randint(1, 180), minutes=rng.randint(0, 1439)
            )
            detail["seller_country_code"] = rng.choice(_COUNTRIES)
            detail["buyer_country_code"] = rng.choice(_COUNTRIES)
            detail["date_ordered"] = ordered.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        details.append(detail)
    return {
        **head,
        "min_price": _money4(min(prices)),
        "max_price": _money4(max(prices)),
        "avg_price": _money4(sum(prices) / len(prices)),
        "qty_avg_price": _money4(sum(q * p for q, p in lots) / total),
        "unit_quantity": len(lots),
        "total_quantity": total,
        "price_detail": details,
    }


def get_price_guide(call: Call) -> Response:
    item = item_or_404(call)
    query = price_query(call.request.query)
    return cached_ok(
        call.catalog,
        ("bl-price", item.type, item.no, query),
        lambda: price_guide(call.catalog, item, query),
    )
