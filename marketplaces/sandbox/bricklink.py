"""BrickLink Store API v1 as the sandbox plays it, quirks included.

The quirks are the point (see docs/marketplaces.md): errors come back as HTTP 200 with the real
outcome in ``meta.code`` (unless ``bricklink_error_http_status`` is ``"real"``), every answer is
labelled ``text/html``, a PUT's quantity is a delta, a PUT without ``description`` is a real
HTTP 400, an array POST answers without ``data``, a DELETE answers with an empty body, and
duplicate lots are never merged (BrickLink has no external id).
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from marketplaces.sandbox.catalog import ITEM_TYPES, Catalog, Item
from marketplaces.sandbox.oauth import BrickLinkSignatureEndpoint
from marketplaces.sandbox.state import BRICKLINK, BrickLinkAccount, SandboxState, iso_now
from marketplaces.sandbox.wire import (
    BRICKLINK_CONTENT_TYPE,
    ApiRequest,
    Response,
    RouteMatch,
    dumps,
    match_route,
    route,
)

PREFIX = "/bricklink/api/store/v1"
FOUR_PLACES = Decimal("0.0001")
_OK = {"code": 200, "message": "OK", "description": "OK"}
_NO_DATA = object()

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


class BrickLinkError(Exception):
    """An answer in BrickLink's error envelope. ``http_status`` forces the HTTP status."""

    def __init__(
        self,
        code: int,
        message: str,
        description: str,
        *,
        http_status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(description)
        self.code, self.message, self.description = code, message, description
        self.http_status = http_status
        self.headers = headers


def _invalid(description: str) -> BrickLinkError:
    return BrickLinkError(400, "PARAMETER_MISSING_OR_INVALID", description)


def _not_found(description: str) -> BrickLinkError:
    return BrickLinkError(404, "RESOURCE_NOT_FOUND", description)


def envelope(
    code: int, message: str, description: str, data: Any = _NO_DATA, *, http_status: int = 200
) -> Response:
    payload: dict[str, Any] = {
        "meta": {"code": code, "message": message, "description": description}
    }
    if data is not _NO_DATA:
        payload["data"] = data
    return Response(http_status, dumps(payload), BRICKLINK_CONTENT_TYPE)


def _ok(data: Any = _NO_DATA, *, code: int = 200, message: str = "OK") -> Response:
    return envelope(code, message, message, data)


def _cached_ok(catalog: Catalog, key: object, build) -> Response:
    """A catalog answer serialized once per seed: the catalog never changes under it."""
    return Response(
        200,
        catalog.cached_json(key, lambda: {"meta": _OK, "data": build()}),
        BRICKLINK_CONTENT_TYPE,
    )


@dataclass(slots=True)
class Call:
    """One authenticated call on its way to a handler."""

    state: SandboxState
    account: BrickLinkAccount
    request: ApiRequest
    params: tuple[str, ...]

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog

    def json_body(self) -> Any:
        content_type = self.request.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            raise BrickLinkError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type must be application/json, not {content_type or 'missing'}",
            )
        try:
            return json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BrickLinkError(
                400, "INVALID_REQUEST_BODY", f"The request body is not valid JSON: {exc}"
            ) from exc


# --- value parsing -------------------------------------------------------------------------


def _money(value: Any, name: str) -> str:
    """A non-negative amount as BrickLink writes it: a string with four decimal places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(f"{name} must be a decimal number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _invalid(f"{name} must be a decimal number, not {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise _invalid(f"{name} must be a non-negative decimal number, not {value!r}")
    return str(amount.quantize(FOUR_PLACES, ROUND_HALF_UP))


def _integer(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise _invalid(f"{name} must be an integer")
    if isinstance(value, str) and _DELTA.match(value):
        value = int(value)
    if not isinstance(value, int) or value < minimum:
        raise _invalid(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _invalid(f"{name} must be true or false, not {value!r}")


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    return value


def _quantity_delta(value: Any) -> int:
    """``"+3"``, ``"-2"`` and plain integers alike are added to the current quantity."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DELTA.match(value):
        return int(value)
    raise _invalid(f"quantity must be a signed integer such as '+3' or '-2', not {value!r}")


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
            fields[name] = _integer(body[name], name, minimum=minimum)
    if "sale_rate" in fields and fields["sale_rate"] > 99:
        raise _invalid("sale_rate must be between 0 and 99")
    for name in _MONEY_FIELDS:
        if name in body:
            fields[name] = _money(body[name], name)
    if "unit_price" in body:
        fields["unit_price"] = _money(body["unit_price"], "unit_price")
    return fields


# --- lots ----------------------------------------------------------------------------------


def _catalog_item(catalog: Catalog, raw: Any) -> Item:
    if not isinstance(raw, dict) or not raw.get("no") or not raw.get("type"):
        raise _invalid("item must be an object with no and type")
    item = catalog.item(str(raw["type"]).upper(), str(raw["no"]))
    if item is None:
        raise _invalid(f"Item not found in the catalog: {raw['type']} {raw['no']}")
    return item


def new_lot(state: SandboxState, body: Any) -> dict:
    """A lot from a POST body, validated; ``inventory_id`` is filled in by the caller."""
    if not isinstance(body, dict):
        raise BrickLinkError(400, "INVALID_REQUEST_BODY", "A lot must be a JSON object")
    catalog = state.catalog
    item = _catalog_item(catalog, body.get("item"))
    if "color_id" not in body and item.type != "PART":
        color_id = 0
    else:
        color_id = _integer(body.get("color_id"), "color_id")
    color = catalog.colors.get(color_id)
    if color is None:
        raise _invalid(f"Unknown color_id {color_id}")
    if "quantity" not in body:
        raise _invalid("quantity is required")
    quantity = _integer(body["quantity"], "quantity", minimum=1)
    if body.get("new_or_used") not in ("N", "U"):
        raise _invalid("new_or_used must be N or U")
    if "unit_price" not in body:
        raise _invalid("unit_price is required")
    lot: dict[str, Any] = {
        "inventory_id": 0,
        "item": {
            "no": item.no,
            "name": item.name,
            "type": item.type,
            "category_id": item.category_id,
        },
        "color_id": color_id,
        "color_name": color.name,
        "quantity": quantity,
        "new_or_used": body["new_or_used"],
        "unit_price": "0.0000",
        "description": "",
        "remarks": "",
        "bulk": 1,
        "is_retain": False,
        "is_stock_room": False,
        "stock_room_id": "",
        "date_created": "",
        "my_cost": "0.0000",
        "sale_rate": 0,
        "tier_quantity1": 0,
        "tier_price1": "0.0000",
        "tier_quantity2": 0,
        "tier_price2": "0.0000",
        "tier_quantity3": 0,
        "tier_price3": "0.0000",
    }
    if item.type == "SET":
        completeness = body.get("completeness", "C")
        if completeness not in ("C", "B", "S"):
            raise _invalid("completeness must be C, B or S")
        lot["completeness"] = completeness
    lot.update(optional_fields(body))
    return lot


def store_lot(
    state: SandboxState, account: BrickLinkAccount, lot: dict, sent: Any, *, ledger: bool = True
) -> dict:
    """Give ``lot`` an id and keep it; write the ledger unless told. Caller holds the lock."""
    lot["inventory_id"] = state.new_inventory_id()
    lot["date_created"] = iso_now()
    account.lots[lot["inventory_id"]] = lot
    if not ledger:
        return lot
    state.record(
        provider=BRICKLINK,
        account=account.consumer_key,
        op="create",
        lot_id=lot["inventory_id"],
        fields=sent,
        before=0,
        after=lot["quantity"],
    )
    return lot


def lot_update(lot: dict, body: dict) -> dict[str, Any]:
    """The changes a PUT body asks of ``lot``, validated but not applied."""
    if "item" in body:
        sent = body["item"] if isinstance(body["item"], dict) else {}
        same_no = str(sent.get("no", lot["item"]["no"])) == lot["item"]["no"]
        same_type = str(sent.get("type", lot["item"]["type"])).upper() == lot["item"]["type"]
        if not (same_no and same_type):
            raise _update_not_allowed("item")
    for name in ("color_id", "new_or_used"):
        if name in body and body[name] != lot[name]:
            raise _update_not_allowed(name)
    changes = optional_fields(body)
    if "completeness" in body and "completeness" in lot:
        if body["completeness"] not in ("C", "B", "S"):
            raise _invalid("completeness must be C, B or S")
        changes["completeness"] = body["completeness"]
    if "quantity" in body:
        after = lot["quantity"] + _quantity_delta(body["quantity"])
        if after < 0:
            raise _invalid(
                f"quantity would go below 0 ({lot['quantity']} {body['quantity']}); "
                "quantity is a delta"
            )
        changes["quantity"] = after
    return changes


def _update_not_allowed(name: str) -> BrickLinkError:
    return BrickLinkError(
        422, "RESOURCE_UPDATE_NOT_ALLOWED", f"{name} of an inventory cannot be changed"
    )


# --- catalog handlers ----------------------------------------------------------------------


def _item_or_404(call: Call) -> Item:
    item_type, no = call.params[0].upper(), call.params[1]
    item = call.catalog.item(item_type, no) if item_type in ITEM_TYPES else None
    if item is None:
        raise _not_found(f"The item {item_type} {no} does not exist")
    return item


def get_item(call: Call) -> Response:
    item = _item_or_404(call)
    return _cached_ok(call.catalog, ("bl-item", item.type, item.no), item.bricklink_payload)


def get_item_colors(call: Call) -> Response:
    item = _item_or_404(call)
    return _cached_ok(
        call.catalog, ("bl-colors", item.type, item.no), item.bricklink_colors_payload
    )


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
        raise _invalid(f"guide_type must be stock or sold, not {guide_type!r}")
    if new_or_used not in ("N", "U"):
        raise _invalid(f"new_or_used must be N or U, not {new_or_used!r}")
    if currency not in CURRENCY_RATES:
        raise _invalid(f"Unsupported currency_code {currency!r}")
    if vat not in VAT_FACTORS:
        raise _invalid(f"vat must be N, Y or O, not {vat!r}")
    color = query.get("color_id")
    if color is not None and not color.isdigit():
        raise _invalid(f"color_id must be an integer, not {color!r}")
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
    item = _item_or_404(call)
    query = price_query(call.request.query)
    return _cached_ok(
        call.catalog,
        ("bl-price", item.type, item.no, query),
        lambda: price_guide(call.catalog, item, query),
    )


def get_colors(call: Call) -> Response:
    colors = call.catalog.colors
    return _cached_ok(
        call.catalog, "bl-colors", lambda: [c.bricklink_payload() for c in colors.values()]
    )


def get_color(call: Call) -> Response:
    color = call.catalog.colors.get(int(call.params[0])) if call.params[0].isdigit() else None
    if color is None:
        raise _not_found(f"The color {call.params[0]} does not exist")
    return _ok(color.bricklink_payload())


def get_categories(call: Call) -> Response:
    categories = call.catalog.categories
    return _cached_ok(
        call.catalog,
        "bl-categories",
        lambda: [c.bricklink_payload() for c in categories.values()],
    )


def get_category(call: Call) -> Response:
    key = call.params[0]
    category = call.catalog.categories.get(int(key)) if key.isdigit() else None
    if category is None:
        raise _not_found(f"The category {key} does not exist")
    return _ok(category.bricklink_payload())


# --- inventory handlers --------------------------------------------------------------------


def _lot_or_404(call: Call) -> dict:
    key = call.params[0]
    lot = call.account.lots.get(int(key)) if key.isdigit() else None
    if lot is None:
        raise _not_found(f"The inventory {key} does not exist")
    return lot


def list_inventories(call: Call) -> Response:
    with call.state.lock:
        return _ok([call.account.lots[key] for key in sorted(call.account.lots)])


def get_inventory(call: Call) -> Response:
    with call.state.lock:
        return _ok(_lot_or_404(call))


def create_inventories(call: Call) -> Response:
    body = call.json_body()
    if isinstance(body, list):
        if not body:
            raise BrickLinkError(400, "INVALID_REQUEST_BODY", "The array of lots is empty")
        with call.state.lock:
            lots = [new_lot(call.state, element) for element in body]  # all or nothing
            for lot, sent in zip(lots, body, strict=True):
                store_lot(call.state, call.account, lot, sent)
        return _ok(code=201, message="OK_CREATED")
    with call.state.lock:
        lot = store_lot(call.state, call.account, new_lot(call.state, body), body)
        return _ok(lot, code=201, message="OK_CREATED")


def update_inventory(call: Call) -> Response:
    body = call.json_body()
    if not isinstance(body, dict):
        raise BrickLinkError(400, "INVALID_REQUEST_BODY", "The body must be a JSON object")
    if body.get("description") is None:
        # BrickLink since Feb 2024: a real HTTP 400, whatever else the body says.
        raise BrickLinkError(
            400, "INVALID_REQUEST_BODY", "String input must not be null", http_status=400
        )
    with call.state.lock:
        lot = _lot_or_404(call)
        changes = lot_update(lot, body)
        before = lot["quantity"]
        lot.update(changes)
        call.state.record(
            provider=BRICKLINK,
            account=call.account.consumer_key,
            op="update",
            lot_id=lot["inventory_id"],
            fields=body,
            before=before,
            after=lot["quantity"],
        )
        return _ok(lot)


def delete_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = _lot_or_404(call)
        del call.account.lots[lot["inventory_id"]]
        call.state.record(
            provider=BRICKLINK,
            account=call.account.consumer_key,
            op="delete",
            lot_id=lot["inventory_id"],
            fields={},
            before=lot["quantity"],
            after=0,
        )
    # The real API may answer a DELETE with no body at all.
    return Response(200, b"", BRICKLINK_CONTENT_TYPE)


ROUTES = [
    route(r"^/items/([^/]+)/([^/]+)$", "/items/{type}/{no}", GET=get_item),
    route(r"^/items/([^/]+)/([^/]+)/colors$", "/items/{type}/{no}/colors", GET=get_item_colors),
    route(r"^/items/([^/]+)/([^/]+)/price$", "/items/{type}/{no}/price", GET=get_price_guide),
    route(r"^/colors/?$", "/colors", GET=get_colors),
    route(r"^/colors/([^/]+)$", "/colors/{color_id}", GET=get_color),
    route(r"^/categories/?$", "/categories", GET=get_categories),
    route(r"^/categories/([^/]+)$", "/categories/{category_id}", GET=get_category),
    route(r"^/inventories/?$", "/inventories", GET=list_inventories, POST=create_inventories),
    route(
        r"^/inventories/([^/]+)$",
        "/inventories/{id}",
        GET=get_inventory,
        PUT=update_inventory,
        DELETE=delete_inventory,
    ),
]

_CONSUMER_KEY = re.compile(r'oauth_consumer_key="([^"]*)"')


class BrickLinkApi:
    """The provider as the server sees it: routing, accounts, faults and processing."""

    name = BRICKLINK
    prefix = PREFIX

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.oauth = BrickLinkSignatureEndpoint(lambda key: state.bricklink_accounts.get(key))

    def match(self, request: ApiRequest) -> RouteMatch:
        return match_route(ROUTES, request.method, request.path)

    def resource(self, request: ApiRequest, match: RouteMatch) -> str:
        """The call's identity for ``/_calls``: the path, with the price guide's parameters."""
        if not match.template.startswith("/items/"):
            return request.path
        suffix = match.template.removeprefix("/items/{type}/{no}")
        path = f"/items/{match.params[0].upper()}/{match.params[1]}{suffix}"
        if suffix == "/price":
            return price_resource(path, request.query)
        return path

    def account_hint(self, request: ApiRequest) -> str | None:
        """The registered consumer key the request claims, before any verification."""
        header = request.headers.get("Authorization") or ""
        found = _CONSUMER_KEY.search(header)
        if not found:
            return None
        key = unquote(found.group(1))
        return key if key in self.state.bricklink_accounts else None

    def enter(self, account: str | None) -> bool:
        return account is None or self.state.enter_flight(account)

    def leave(self, account: str | None) -> None:
        if account is not None:
            self.state.leave_flight(account)

    def fault_response(self, kind: str) -> Response:
        if kind == "error_500":
            return envelope(500, "INTERNAL_SERVER_ERROR", "Internal server error", http_status=500)
        if kind == "http_429":
            response = envelope(
                429, "TOO_MANY_REQUESTS", "Too many requests: slow down", http_status=429
            )
            response.headers = (("Retry-After", "2"),)
            return response
        if kind == "malformed_json":
            return Response(
                200, b'{"meta":{"code":200,"message":"OK","descr', BRICKLINK_CONTENT_TYPE
            )
        raise ValueError(kind)

    def process(self, request: ApiRequest, match: RouteMatch) -> Response:
        """Authenticate, charge the quota, then run the handler; errors go in the envelope."""
        real = self.state.settings.bricklink_error_http_status == "real"
        try:
            return self._process(request, match)
        except BrickLinkError as error:
            status = error.http_status or (error.code if real else 200)
            response = envelope(error.code, error.message, error.description, http_status=status)
            if real:
                response.headers = error.headers
            return response

    def _process(self, request: ApiRequest, match: RouteMatch) -> Response:
        verdict = self.oauth.verify(
            request.uri, request.method, request.headers.get("Authorization")
        )
        if verdict.account is None:
            self.state.refuse("bricklink_auth_401")
            raise BrickLinkError(401, "BAD_OAUTH_REQUEST", verdict.failure)
        account = verdict.account
        now = time.time()
        with self.state.lock:
            fresh = account.claim_nonce(verdict.nonce, verdict.timestamp, now)
            retry_after = (
                account.charge_quota(now, self.state.settings.bricklink_quota) if fresh else None
            )
            if retry_after:
                self.state.counters.refused["bricklink_quota_429"] += 1
        if not fresh:
            self.state.refuse("bricklink_auth_401")
            raise BrickLinkError(
                401, "BAD_OAUTH_REQUEST", "NONCE_USED: this nonce was already used; sign again"
            )
        if retry_after:
            raise BrickLinkError(
                429,
                "TOO_MANY_REQUESTS",
                f"The daily quota of {self.state.settings.bricklink_quota} requests is exhausted "
                "until 00:00 UTC",
                headers=(("Retry-After", str(retry_after)),),
            )
        if not match.known:
            raise BrickLinkError(400, "INVALID_URI", f"Invalid URI: {request.path}")
        if match.handler is None:
            raise BrickLinkError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
        return match.handler(Call(self.state, account, request, match.params))
