"""BrickOwl API v1 client.

Key auth: ``key=`` in the query on GET and in the form body on POST (so the key travels in
URLs: it must never reach a log line or an error message). Real HTTP status codes, bare JSON
bodies with numbers as strings, an undocumented error body: a non-2xx answer, or a mutation
answered without ``"status": "success"``, is a failure and keeps the raw body.
See ``docs/marketplaces.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.conf import settings

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
    sessions,
)

T = TypeVar("T")

PROVIDER = "brickowl"
CONDITIONS = frozenset(
    {"new", "news", "newc", "newi", "usedc", "usedi", "usedn", "usedg", "useda", "other"}
)
# BrickOwl's limits are per minute: a 429 without a usable Retry-After waits one window.
DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 15 * 60.0


@dataclass(frozen=True)
class BrickOwlColor:
    id: int
    name: str
    bl_ids: tuple[int, ...]


@dataclass(frozen=True)
class OwlLot:
    lot_id: str
    boid: str
    color_id: int | None
    quantity: int
    price: Decimal
    condition: str
    for_sale: bool
    external_ids: dict[str, str]
    type: str
    public_note: str = ""
    personal_note: str = ""

    @property
    def external_id(self) -> str | None:
        """The id we gave the lot on creation (BrickOwl files it under ``other``)."""
        return self.external_ids.get("other")


class BrickOwlClient(MarketplaceClient):
    provider = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        http: HttpConfig | None = None,
    ) -> None:
        base_url = (base_url or settings.BRICKOWL_API_URL).rstrip("/")
        session = sessions.get("brickowl:" + fingerprint(base_url), new_session)
        super().__init__(
            base_url=base_url, session=session, http=http or HttpConfig.from_settings()
        )
        self._key = api_key
        self.account = fingerprint(api_key)

    def __repr__(self) -> str:
        return f"BrickOwlClient(base_url={self.base_url!r})"

    @classmethod
    def platform(cls, **kwargs: Any) -> BrickOwlClient:
        """The client for catalog look-ups, with the platform's own key."""
        return cls(settings.BRICKOWL_API_KEY, **kwargs)

    # --- catalog -------------------------------------------------------------------------------

    def id_lookup(self, bl_item_no: str, item_type: str = "Part") -> list[str]:
        """BrickOwl ids (BOIDs) of a BrickLink item number. Unknown → :class:`NotFound`."""

        def parse(data: Any) -> list[str]:
            boids = _mapping(data, "id lookup").get("boids")
            if not isinstance(boids, list):
                raise _malformed("boids is not a list")
            return [str(boid) for boid in boids]

        return self._get(
            "/catalog/id_lookup",
            parse,
            {"id": bl_item_no, "type": item_type, "id_type": "bl_item_no"},
        )

    def color_list(self) -> list[BrickOwlColor]:
        def parse(data: Any) -> list[BrickOwlColor]:
            # An object keyed by BrickOwl color id; accept a plain list as well.
            if isinstance(data, dict):
                rows = list(data.values())
            elif isinstance(data, list):
                rows = data
            else:
                raise _malformed("color list is neither an object nor a list")
            colors = []
            for row in rows:
                row = _mapping(row, "color")
                colors.append(
                    BrickOwlColor(
                        id=_int(row.get("id"), "id"),
                        name=str(row.get("name") or ""),
                        bl_ids=tuple(
                            int(value)
                            for value in _list(row.get("bl_ids"))
                            if _is_small_number(value)
                        ),
                    )
                )
            return colors

        return self._get("/catalog/color_list", parse)

    # --- inventory -----------------------------------------------------------------------------

    def inventory_list(
        self, *, external_id: str | None = None, lot_id: str | None = None
    ) -> list[OwlLot]:
        params: dict[str, Any] = {}
        if external_id is not None:
            params["external_id_1"] = external_id
        if lot_id is not None:
            params["lot_id"] = lot_id

        def parse(data: Any) -> list[OwlLot]:
            if not isinstance(data, list):
                raise _malformed("inventory list is not a list")
            return [_lot(_mapping(row, "lot")) for row in data]

        return self._get("/inventory/list", parse, params)

    def inventory_create(
        self,
        *,
        boid: str,
        color_id: int,
        quantity: int,
        price: Decimal,
        condition: str,
        external_id: str,
        public_note: str = "",
        personal_note: str = "",
    ) -> str:
        """Create a lot and answer its ``lot_id``. Look it up by ``external_id`` first: BrickOwl
        happily creates a second lot with the same external id."""
        if quantity <= 0:
            raise ValueError("BrickOwl lots are created with a quantity above 0")
        if condition not in CONDITIONS:
            raise ValueError(f"unknown BrickOwl condition {condition!r}")

        def parse(data: Any) -> str:
            row = _success(data)
            lot_id = row.get("lot_id")
            if lot_id in (None, ""):
                raise _malformed("created lot has no lot_id")
            return str(lot_id)

        return self._post(
            "/inventory/create",
            parse,
            {
                "boid": boid,
                "color_id": color_id,
                "quantity": quantity,
                "price": _price(price),
                "condition": condition,
                "external_id": external_id,
                **({"public_note": public_note} if public_note else {}),
                **({"personal_note": personal_note} if personal_note else {}),
            },
        )

    def inventory_update(
        self,
        *,
        lot_id: str | None = None,
        external_id: str | None = None,
        absolute_quantity: int | None = None,
        price: Decimal | None = None,
        for_sale: bool | None = None,
        public_note: str | None = None,
        personal_note: str | None = None,
    ) -> None:
        """Change a lot found by exactly one of ``lot_id`` / ``external_id``. The quantity is
        absolute, so replaying an update is harmless."""
        form = _lot_selector(lot_id, external_id)
        if absolute_quantity is not None:
            if absolute_quantity < 0:
                raise ValueError("quantity cannot be negative")
            form["absolute_quantity"] = absolute_quantity
        if price is not None:
            form["price"] = _price(price)
        if for_sale is not None:
            form["for_sale"] = int(for_sale)
        if public_note is not None:
            form["public_note"] = public_note
        if personal_note is not None:
            form["personal_note"] = personal_note
        self._post("/inventory/update", _success, form)

    def inventory_delete(
        self, *, lot_id: str | None = None, external_id: str | None = None
    ) -> None:
        self._post("/inventory/delete", _success, _lot_selector(lot_id, external_id))

    # --- plumbing ------------------------------------------------------------------------------

    def _get(self, template: str, parse: Callable[[Any], T], params: dict | None = None) -> T:
        return self._call(
            "GET", template, self._decoder(parse), params={**(params or {}), "key": self._key}
        )

    def _post(self, template: str, parse: Callable[[Any], T], form: dict[str, Any]) -> T:
        return self._call("POST", template, self._decoder(parse), data={**form, "key": self._key})

    def _decoder(self, parse: Callable[[Any], T]):
        def decode(raw: RawResponse, method: str, template: str) -> tuple[T, None]:
            context = {"provider": PROVIDER, "method": method, "path": template}
            text = raw.body.decode("utf-8", errors="replace")
            if not 200 <= raw.status < 300:
                raise _error_for(raw, text, context)
            try:
                data = json.loads(text)
            except (ValueError, RecursionError):
                raise TransientError(
                    "malformed JSON in a 2xx answer",
                    **context,
                    http_status=raw.status,
                    body=text,
                    ambiguous=method != "GET",
                ) from None
            try:
                return parse(data), None
            except MarketplaceError as exc:
                exc.method, exc.path, exc.http_status = method, template, raw.status
                exc.body = exc.body or text[:500]
                exc.ambiguous = method != "GET" and isinstance(exc, TransientError)
                raise

        return decode


def _error_for(raw: RawResponse, text: str, context: dict[str, Any]) -> MarketplaceError:
    status = raw.status
    message = _error_message(text) or f"HTTP {status}"
    common = {**context, "http_status": status, "body": text}
    if status == 401:
        return AuthError(message, **common)
    if status == 403:
        return PermissionDenied(message, **common)
    if status == 404:
        return NotFound(message, **common)
    if status == 429:
        retry_after = parse_retry_after(
            raw.headers.get("Retry-After"), default=DEFAULT_RETRY_AFTER, cap=MAX_RETRY_AFTER
        )
        return RateLimited(message, retry_after=retry_after, **common)
    if status >= 500 or status < 200:
        looks_html = text.lstrip()[:1] == "<"
        return TransientError(
            "gateway page" if looks_html else message,
            **common,
            ambiguous=context["method"] != "GET" and not (status in (502, 503, 504) and looks_html),
        )
    return BadRequest(message, **common)


def _error_message(text: str) -> str:
    """BrickOwl's error body is undocumented: take a message if one is there."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict):
        for key in ("error", "message", "status"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict):
                return json.dumps(value)[:300]
    return ""


def _success(data: Any) -> dict[str, Any]:
    """A mutation succeeded only if BrickOwl says ``"status": "success"``."""
    row = data if isinstance(data, dict) else {}
    if row.get("status") != "success":
        raise BadRequest(
            f"BrickOwl did not confirm success (status={row.get('status')!r})",
            provider=PROVIDER,
            body=json.dumps(data)[:500] if data is not None else "",
        )
    return row


def _lot_selector(lot_id: str | None, external_id: str | None) -> dict[str, Any]:
    if (lot_id is None) == (external_id is None):
        raise ValueError("give exactly one of lot_id and external_id")
    return {"lot_id": lot_id} if lot_id is not None else {"external_id": external_id}


def _price(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.001")))


def _malformed(message: str) -> TransientError:
    return TransientError(f"malformed response: {message}", provider=PROVIDER)


def _mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _malformed(f"{what} is not an object")
    return data


def _int(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise _malformed(f"{what} is not an integer") from None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_small_number(value: Any) -> bool:
    """ASCII digits only ("²".isdigit() is true too), and a sane length."""
    text = str(value).strip()
    return text.isascii() and text.isdigit() and len(text) < 19


def _lot(row: dict[str, Any]) -> OwlLot:
    external = row.get("external_lot_ids")
    try:
        price = Decimal(str(row.get("price") or "0"))
    except InvalidOperation:
        raise _malformed("price is not a number") from None
    color = row.get("color_id")
    return OwlLot(
        lot_id=str(row.get("lot_id") or ""),
        boid=str(row.get("boid") or ""),
        color_id=_int(color, "color_id") if color not in (None, "") else None,
        quantity=_int(row.get("qty", 0), "qty"),
        price=price,
        # The full code (usedn) is what a create sends; con is only new/used/other.
        condition=str(row.get("full_con") or row.get("con") or ""),
        for_sale=str(row.get("for_sale", "1")) == "1",
        external_ids={str(k): str(v) for k, v in external.items()}
        if isinstance(external, dict)
        else {},
        type=str(row.get("type") or ""),
        public_note=str(row.get("public_note") or ""),
        personal_note=str(row.get("personal_note") or ""),
    )
