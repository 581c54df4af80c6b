"""BrickLink Store API v1 client.

BrickLink's envelope is ``{"meta": {"code", "message", "description"}, "data": ...}`` and
``meta.code`` is the real outcome: errors often arrive with HTTP 200, responses are labelled
``text/html`` although they are JSON, and under load an nginx HTML page replaces the JSON.
So the decoder reads ``meta.code`` first, then the HTTP status, and treats anything that is not
the envelope as a transient failure. See ``docs/marketplaces.md``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.conf import settings
from requests_oauthlib import OAuth1

from .errors import (
    AuthError,
    BadRequest,
    MarketplaceError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from .http import (
    HttpConfig,
    MarketplaceClient,
    RawResponse,
    fingerprint,
    new_session,
    parse_retry_after,
    seconds_until_next_utc_midnight,
    sessions,
)

T = TypeVar("T")

PROVIDER = "bricklink"
# A store's whole inventory comes in one unpaginated answer.
INVENTORY_MAX_BYTES = 256 * 1024 * 1024
SUCCESS_CODES = frozenset({200, 201, 204})
# A 429 without a usable Retry-After: the quota window is the UTC day.
MAX_RETRY_AFTER = 24 * 3600.0
CONDITIONS = {"new": "N", "used": "U"}
GUIDE_TYPES = ("stock", "sold")
# Integers in BrickLink's answers are ids and quantities: anything this large is garbage.
MAX_INT = 2**63


@dataclass(frozen=True)
class Credentials:
    consumer_key: str
    consumer_secret: str
    token_value: str
    token_secret: str

    def __repr__(self) -> str:  # never print secrets, even in a debugger or a traceback
        return f"Credentials(consumer_key={self.consumer_key[:4]}…)"

    @property
    def configured(self) -> bool:
        return all((self.consumer_key, self.consumer_secret, self.token_value, self.token_secret))

    @classmethod
    def from_settings(cls) -> Credentials:
        """The platform's own credentials, used for catalog calls."""
        return cls(
            consumer_key=settings.BRICKLINK_CONSUMER_KEY,
            consumer_secret=settings.BRICKLINK_CONSUMER_SECRET,
            token_value=settings.BRICKLINK_TOKEN_VALUE,
            token_secret=settings.BRICKLINK_TOKEN_SECRET,
        )


@dataclass(frozen=True)
class Item:
    no: str
    name: str
    type: str
    category_id: int | None
    alternate_no: str
    image_url: str
    thumbnail_url: str
    weight: Decimal | None
    dim_x: Decimal | None
    dim_y: Decimal | None
    dim_z: Decimal | None
    year_released: int | None
    description: str
    is_obsolete: bool
    language_code: str


@dataclass(frozen=True)
class KnownColor:
    color_id: int
    quantity: int


@dataclass(frozen=True)
class PriceGuidePart:
    """One of the four guides of an item in a color: (new|used) x (stock|sold)."""

    item_no: str
    item_type: str
    color_id: int
    new_or_used: str  # "N" or "U"
    guide_type: str  # "stock" or "sold"
    currency_code: str
    min_price: Decimal
    max_price: Decimal
    avg_price: Decimal
    qty_avg_price: Decimal
    unit_quantity: int
    total_quantity: int


@dataclass(frozen=True)
class FullPriceGuide:
    item_no: str
    color_id: int
    currency_code: str
    new_stock: PriceGuidePart
    new_sold: PriceGuidePart
    used_stock: PriceGuidePart
    used_sold: PriceGuidePart


@dataclass(frozen=True)
class Color:
    color_id: int
    color_name: str
    color_code: str
    color_type: str


@dataclass(frozen=True)
class Category:
    category_id: int
    category_name: str
    parent_id: int


@dataclass(frozen=True)
class Lot:
    inventory_id: int
    item_no: str
    item_type: str
    item_name: str
    color_id: int
    color_name: str
    quantity: int
    new_or_used: str
    unit_price: Decimal
    description: str
    remarks: str
    is_stock_room: bool
    date_created: str


@dataclass(frozen=True)
class NewLot:
    """What a lot is created with."""

    item_no: str
    color_id: int
    quantity: int
    new_or_used: str  # "N" or "U"
    unit_price: Decimal
    item_type: str = "PART"
    description: str = ""
    remarks: str = ""
    is_retain: bool = False
    is_stock_room: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "item": {"no": self.item_no, "type": self.item_type},
            "color_id": self.color_id,
            "quantity": self.quantity,
            "unit_price": _money(self.unit_price),
            "new_or_used": self.new_or_used,
            "description": self.description,
            "remarks": self.remarks,
            "is_retain": self.is_retain,
            "is_stock_room": self.is_stock_room,
        }


class BrickLinkClient(MarketplaceClient):
    provider = PROVIDER

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        http: HttpConfig | None = None,
    ) -> None:
        base_url = (base_url or settings.BRICKLINK_API_URL).rstrip("/")
        key = "bricklink:" + fingerprint(
            base_url,
            credentials.consumer_key,
            credentials.consumer_secret,
            credentials.token_value,
            credentials.token_secret,
        )
        session = sessions.get(
            key,
            lambda: new_session(
                OAuth1(
                    credentials.consumer_key,
                    credentials.consumer_secret,
                    credentials.token_value,
                    credentials.token_secret,
                    signature_method="HMAC-SHA1",
                    signature_type="AUTH_HEADER",
                )
            ),
        )
        super().__init__(
            base_url=base_url, session=session, http=http or HttpConfig.from_settings()
        )
        self.account = fingerprint(credentials.consumer_key)

    @classmethod
    def platform(cls, **kwargs: Any) -> BrickLinkClient:
        """The client for catalog calls, with the platform's own credentials."""
        return cls(Credentials.from_settings(), **kwargs)

    # --- catalog -------------------------------------------------------------------------------

    def item(self, no: str, item_type: str = "PART") -> Item:
        return self._request(
            "GET",
            "/items/{type}/{no}",
            lambda data: _item(_mapping(data, "item")),
            path_params={"type": item_type, "no": no},
        )

    def known_colors(self, no: str, item_type: str = "PART") -> list[KnownColor]:
        def parse(data: Any) -> list[KnownColor]:
            return [
                KnownColor(
                    color_id=_int(row, "color_id"), quantity=_int(row, "quantity", default=0)
                )
                for row in _rows(data, "known colors")
            ]

        return self._request(
            "GET", "/items/{type}/{no}/colors", parse, path_params={"type": item_type, "no": no}
        )

    def price_guide(
        self,
        no: str,
        *,
        color_id: int,
        new_or_used: str = "N",
        guide_type: str = "stock",
        currency_code: str = "USD",
        vat: str = "N",
        item_type: str = "PART",
    ) -> PriceGuidePart:
        if new_or_used not in ("N", "U") or guide_type not in GUIDE_TYPES:
            raise ValueError("new_or_used must be N or U, guide_type stock or sold")

        def parse(data: Any) -> PriceGuidePart:
            row = _mapping(data, "price guide")
            return PriceGuidePart(
                item_no=no,
                item_type=item_type,
                color_id=color_id,
                new_or_used=new_or_used,
                guide_type=guide_type,
                currency_code=str(row.get("currency_code") or currency_code),
                min_price=_decimal(row.get("min_price")) or Decimal(0),
                max_price=_decimal(row.get("max_price")) or Decimal(0),
                avg_price=_decimal(row.get("avg_price")) or Decimal(0),
                qty_avg_price=_decimal(row.get("qty_avg_price")) or Decimal(0),
                unit_quantity=_int(row, "unit_quantity", default=0),
                total_quantity=_int(row, "total_quantity", default=0),
            )

        return self._request(
            "GET",
            "/items/{type}/{no}/price",
            parse,
            path_params={"type": item_type, "no": no},
            params={
                "color_id": color_id,
                "guide_type": guide_type,
                "new_or_used": new_or_used,
                "currency_code": currency_code,
                "vat": vat,
            },
        )

    def full_price_guide(
        self,
        no: str,
        *,
        color_id: int,
        currency_code: str = "USD",
        vat: str = "N",
        item_type: str = "PART",
        known: dict[tuple[str, str], PriceGuidePart] | None = None,
    ) -> FullPriceGuide:
        """All four guides, new/used x stock/sold: one call each, in that order. A guide
        already in ``known`` is not asked again, and each one fetched is put there as it
        arrives, so after a failure the caller holds what it got and a retry asks only for
        the rest (the daily quota counts every call)."""
        guides = known if known is not None else {}
        for new_or_used in ("N", "U"):
            for guide_type in GUIDE_TYPES:
                if (new_or_used, guide_type) not in guides:
                    guides[new_or_used, guide_type] = self.price_guide(
                        no,
                        color_id=color_id,
                        new_or_used=new_or_used,
                        guide_type=guide_type,
                        currency_code=currency_code,
                        vat=vat,
                        item_type=item_type,
                    )
        return FullPriceGuide(
            item_no=no,
            color_id=color_id,
            currency_code=guides["N", "stock"].currency_code,
            new_stock=guides["N", "stock"],
            new_sold=guides["N", "sold"],
            used_stock=guides["U", "stock"],
            used_sold=guides["U", "sold"],
        )

    def colors(self) -> list[Color]:
        def parse(data: Any) -> list[Color]:
            return [
                Color(
                    color_id=_int(row, "color_id"),
                    color_name=_text(row.get("color_name")),
                    color_code=str(row.get("color_code") or "").lstrip("#").upper(),
                    color_type=_text(row.get("color_type")),
                )
                for row in _rows(data, "colors")
            ]

        return self._request("GET", "/colors", parse)

    def categories(self) -> list[Category]:
        def parse(data: Any) -> list[Category]:
            return [
                Category(
                    category_id=_int(row, "category_id"),
                    category_name=_text(row.get("category_name")),
                    parent_id=_int(row, "parent_id", default=0),
                )
                for row in _rows(data, "categories")
            ]

        return self._request("GET", "/categories", parse)

    # --- inventory -----------------------------------------------------------------------------

    def inventory_list(self) -> list[Lot]:
        """Every lot of the store (BrickLink does not paginate)."""
        return self._request(
            "GET",
            "/inventories",
            lambda data: [_lot(row) for row in _rows(data, "inventory")],
            max_bytes=INVENTORY_MAX_BYTES,
        )

    def inventory_get(self, inventory_id: int) -> Lot:
        return self._request(
            "GET",
            "/inventories/{id}",
            lambda data: _lot(_mapping(data, "lot")),
            path_params={"id": inventory_id},
        )

    def inventory_create(self, lot: NewLot) -> Lot:
        return self._request(
            "POST",
            "/inventories",
            lambda data: _lot(_mapping(data, "created lot")),
            json=lot.as_json(),
        )

    def inventory_create_many(self, lots: Iterable[NewLot]) -> None:
        """Create several lots in one call. BrickLink answers without the new ids: re-list."""
        self._request(
            "POST", "/inventories", lambda data: None, json=[lot.as_json() for lot in lots]
        )

    def inventory_update(
        self,
        inventory_id: int,
        *,
        description: str,
        quantity_delta: int = 0,
        unit_price: Decimal | None = None,
        remarks: str | None = None,
    ) -> Lot:
        """Change a lot. ``quantity_delta`` is added to BrickLink's quantity (a PUT's quantity
        is a delta); zero sends no quantity at all. ``description`` is always sent: since
        Feb 2024 a PUT without it fails."""
        body: dict[str, Any] = {"description": description}
        if quantity_delta:
            body["quantity"] = f"{quantity_delta:+d}"
        if unit_price is not None:
            body["unit_price"] = _money(unit_price)
        if remarks is not None:
            body["remarks"] = remarks
        return self._request(
            "PUT",
            "/inventories/{id}",
            lambda data: _lot(_mapping(data, "updated lot")),
            path_params={"id": inventory_id},
            json=body,
        )

    def inventory_delete(self, inventory_id: int) -> None:
        self._request(
            "DELETE", "/inventories/{id}", lambda data: None, path_params={"id": inventory_id}
        )

    # --- plumbing ------------------------------------------------------------------------------

    def _request(self, method: str, template: str, parse: Callable[[Any], T], **kwargs: Any) -> T:
        """One call: decode the envelope, then ``parse`` its data into typed results."""

        def decode(raw: RawResponse, method: str, template: str) -> tuple[T, int | None]:
            data, meta_code = self._envelope(raw, method, template)
            try:
                return parse(data), meta_code
            except TransientError as exc:
                exc.method, exc.path, exc.http_status, exc.meta_code = (
                    method,
                    template,
                    raw.status,
                    meta_code,
                )
                exc.ambiguous = method != "GET"
                raise

        return self._call(method, template, decode, **kwargs)

    def _envelope(self, raw: RawResponse, method: str, template: str) -> tuple[Any, int | None]:
        """The envelope's ``data``, or the classified error: meta.code first, then HTTP."""
        context = {"provider": PROVIDER, "method": method, "path": template}
        text = raw.body.decode("utf-8", errors="replace")
        if not raw.body.strip():
            if method == "DELETE" and raw.status in (200, 204):
                return None, None  # BrickLink may answer a delete without a body
            _raise_for_http_status(raw, text, context, why="empty response")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        meta = payload.get("meta") if isinstance(payload, dict) else None
        if not isinstance(meta, dict):
            _raise_for_http_status(raw, text, context, why="response is not BrickLink's envelope")
        try:
            meta_code = int(meta.get("code"))
        except (TypeError, ValueError):
            _raise_for_http_status(raw, text, context, why="meta.code missing or not a number")
        if meta_code in SUCCESS_CODES:
            return payload.get("data"), meta_code
        message = _text(meta.get("description") or meta.get("message") or "error")
        label = _text(meta.get("message") or "")
        raise _error_for(
            meta_code,
            f"{label}: {message}" if label and label not in message else message,
            raw,
            text,
            {**context, "meta_code": meta_code},
        )


def _error_for(
    code: int, message: str, raw: RawResponse, text: str, context: dict[str, Any]
) -> MarketplaceError:
    common = {**context, "http_status": raw.status, "body": text}
    if code == 401:
        return AuthError(message, **common)
    if code == 403:
        return PermissionDenied(message, **common)
    if code == 404:
        return NotFound(message, **common)
    if code == 429:
        retry_after = parse_retry_after(
            raw.headers.get("Retry-After"),
            default=seconds_until_next_utc_midnight(),
            cap=MAX_RETRY_AFTER,
        )
        return RateLimited(message, retry_after=retry_after, **common)
    if code >= 500:
        return TransientError(message, **common, ambiguous=context["method"] != "GET")
    if 400 <= code < 500:
        return BadRequest(message, **common)
    return TransientError(f"unexpected meta code {code}: {message}", **common)


def _raise_for_http_status(raw: RawResponse, text: str, context: dict[str, Any], *, why: str):
    """No usable envelope: the HTTP status decides; a 2xx without one is a broken reply."""
    status = raw.status
    if status in (401, 403, 404, 429) or (400 <= status < 500):
        raise _error_for(status, f"HTTP {status} ({why})", raw, text, context)
    looks_html = text.lstrip()[:1] == "<"
    kind = "gateway page" if looks_html else why
    raise TransientError(
        f"{kind} (HTTP {status})",
        **context,
        http_status=status,
        body=text,
        # A 2xx with a broken body means the request ran; a gateway page means it did not.
        ambiguous=context["method"] != "GET" and not (status in (502, 503, 504) and looks_html),
    )


# --- normalisation ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """BrickLink names carry HTML entities (``&#40;``): unescape them."""
    return html.unescape(str(value)) if value is not None else ""


def _url(value: Any) -> str:
    url = str(value or "")
    return f"https:{url}" if url.startswith("//") else url


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.0001")))


def _int(row: dict[str, Any], key: str, *, default: int | None = None) -> int:
    """Integers BrickLink sometimes sends as strings ("12", "+3")."""
    value = row.get(key)
    if value is None or value == "":
        if default is None:
            raise _malformed(f"missing {key}")
        return default
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _malformed(f"{key} is not an integer") from None
    # Bounded before int(): int(Decimal("1e999999999")) would build a billion-digit number.
    if not number.is_finite() or abs(number) >= MAX_INT:
        raise _malformed(f"{key} is not an integer in range")
    return int(number)


def _malformed(message: str) -> TransientError:
    return TransientError(f"malformed response: {message}", provider=PROVIDER)


def _mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _malformed(f"{what} is not an object")
    return data


def _rows(data: Any, what: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise _malformed(f"{what} is not a list of objects")
    return data


def _optional_int(value: Any) -> int | None:
    """An integer that may be missing; anything unusable (``Infinity``, 10^5000) is None."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < MAX_INT else None


def _item(row: dict[str, Any]) -> Item:
    return Item(
        no=str(row.get("no") or ""),
        name=_text(row.get("name")),
        type=str(row.get("type") or ""),
        category_id=_optional_int(row.get("category_id")),
        alternate_no=_text(row.get("alternate_no")),
        image_url=_url(row.get("image_url")),
        thumbnail_url=_url(row.get("thumbnail_url")),
        weight=_decimal(row.get("weight")),
        dim_x=_decimal(row.get("dim_x")),
        dim_y=_decimal(row.get("dim_y")),
        dim_z=_decimal(row.get("dim_z")),
        year_released=_optional_int(row.get("year_released")),
        description=str(row.get("description") or ""),
        is_obsolete=bool(row.get("is_obsolete")),
        language_code=str(row.get("language_code") or ""),
    )


def _lot(row: dict[str, Any]) -> Lot:
    item = row.get("item") if isinstance(row.get("item"), dict) else {}
    return Lot(
        inventory_id=_int(row, "inventory_id"),
        item_no=str(item.get("no") or ""),
        item_type=str(item.get("type") or ""),
        item_name=_text(item.get("name")),
        color_id=_int(row, "color_id", default=0),
        color_name=_text(row.get("color_name")),
        quantity=_int(row, "quantity", default=0),
        new_or_used=str(row.get("new_or_used") or ""),
        unit_price=_decimal(row.get("unit_price")) or Decimal(0),
        description=_text(row.get("description")),
        remarks=_text(row.get("remarks")),
        is_stock_room=bool(row.get("is_stock_room")),
        date_created=str(row.get("date_created") or ""),
    )
