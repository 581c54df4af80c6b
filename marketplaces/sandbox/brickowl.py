"""BrickOwl API v1 as the sandbox plays it.

Real HTTP statuses, bare JSON with numbers as strings, ``key`` in the query on GET and in the
form body on POST, 600 requests per rolling minute per key. Creates are never deduplicated by
``external_id``: a client that wants idempotent creates looks its lot up first
(``inventory/list?external_id_1=...``). Updates and deletes by ``external_id`` act on the
oldest lot carrying it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from marketplaces.sandbox.catalog import Catalog
from marketplaces.sandbox.state import BRICKOWL, BrickOwlAccount, SandboxState
from marketplaces.sandbox.wire import (
    JSON,
    ApiRequest,
    Response,
    RouteMatch,
    dumps,
    first_values,
    json_response,
    match_route,
    route,
)

PREFIX = "/brickowl/v1"
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
_ITEM_TYPES = {"Part": "PART", "Set": "SET", "Minifigure": "MINIFIG"}
_SUCCESS = b'{"status":"success"}'


class BrickOwlError(Exception):
    """An answer ``{"error": message}`` with a real HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(slots=True)
class Call:
    state: SandboxState
    account: BrickOwlAccount
    request: ApiRequest
    form: dict[str, str]

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog


def _bad(message: str) -> BrickOwlError:
    return BrickOwlError(400, message)


def _integer(value: str | None, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise _bad(f"{name} must be an integer") from exc


def _price(value: str | None) -> str:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _bad("price must be a decimal number") from exc
    if not amount.is_finite() or amount < 0:
        raise _bad("price must be a non-negative decimal number")
    return str(amount.quantize(THREE_PLACES, ROUND_HALF_UP))


def _for_sale(value: str) -> str:
    if value not in ("0", "1"):
        raise _bad("for_sale must be 0 or 1")
    return value


# --- catalog -------------------------------------------------------------------------------


def id_lookup(call: Call) -> Response:
    query = call.request.query
    number = query.get("id")
    if not number:
        raise _bad("Missing id")
    id_type = query.get("id_type", "bl_item_no")
    if id_type != "bl_item_no":
        raise _bad(f"Unsupported id_type {id_type!r} (the sandbox knows bl_item_no)")
    item_type = query.get("type")
    kind = _ITEM_TYPES.get(item_type) if item_type else None
    if item_type and kind is None:
        raise BrickOwlError(404, "No results found")
    items = call.catalog.lookup_bricklink_number(number, kind)
    boids = [item.boid for item in items if item.boid is not None]
    if not boids:
        raise BrickOwlError(404, "No results found")
    return json_response(200, {"boids": boids})


def color_list(call: Call) -> Response:
    catalog = call.catalog

    def build() -> dict[str, dict]:
        entries = {}
        for color in sorted(catalog.brickowl_colors.values(), key=lambda c: int(c.brickowl_id)):
            entries[color.brickowl_id] = {
                "id": color.brickowl_id,
                "name": color.name,
                "hex": color.code,
                "bl_ids": [str(color.color_id)],
                "bl_names": [color.name],
                "ldraw_ids": [str(ldraw) for ldraw in color.ldraw_ids],
                "peeron_names": [color.name.replace(" ", "").replace("-", "")],
            }
        return entries

    return Response(200, catalog.cached_json("bo-colors", build), JSON)


# --- inventory -----------------------------------------------------------------------------


def new_lot(state: SandboxState, form: dict[str, str]) -> dict:
    """A lot from ``inventory/create``'s form, validated; the lot id comes later."""
    catalog = state.catalog
    item = catalog.boids.get(form.get("boid", ""))
    if item is None:
        raise _bad(f"Unknown boid {form.get('boid')!r}")
    color_id = form.get("color_id", "")
    # Sets and minifigs need no color; a part always does.
    if (item.type == "PART" or color_id) and color_id not in catalog.brickowl_colors:
        raise _bad(f"Unknown color_id {color_id!r}")
    quantity = _integer(form.get("quantity"), "quantity")
    if quantity <= 0:
        raise _bad("quantity must be greater than 0")
    if "price" not in form:
        raise _bad("Missing price")
    condition = form.get("condition", "")
    if condition not in CONDITIONS:
        raise _bad(f"Invalid condition {condition!r}; one of {', '.join(CONDITIONS)}")
    con, full_con = CONDITIONS[condition], condition
    external = form.get("external_id", "")
    return {
        "con": con,
        "full_con": full_con,
        "qty": str(quantity),
        "lot_id": "",
        "price": _price(form["price"]),
        "for_sale": _for_sale(form.get("for_sale", "1")),
        "boid": item.boid,
        "color_id": color_id,
        "external_lot_ids": {"other": external} if external else {},
        "type": item.brickowl_type,
        "public_note": form.get("public_note", ""),
        "personal_note": form.get("personal_note", ""),
    }


def store_lot(
    state: SandboxState, account: BrickOwlAccount, lot: dict, sent: dict, *, ledger: bool = True
) -> dict:
    """Give ``lot`` an id and keep it; write the ledger unless told. Caller holds the lock."""
    lot["lot_id"] = state.new_brickowl_lot_id()
    account.lots[lot["lot_id"]] = lot
    if not ledger:
        return lot
    state.record(
        provider=BRICKOWL,
        account=account.key,
        op="create",
        lot_id=lot["lot_id"],
        fields=sent,
        before=0,
        after=int(lot["qty"]),
    )
    return lot


def _sent_fields(form: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in form.items() if key != "key"}


def _find_lot(account: BrickOwlAccount, form: dict[str, str]) -> dict:
    """The lot named by exactly one of ``lot_id`` / ``external_id``. Caller holds the lock."""
    has_lot_id, has_external = "lot_id" in form, "external_id" in form
    if has_lot_id == has_external:
        raise _bad("Exactly one of lot_id and external_id is required")
    if has_lot_id:
        lot = account.lots.get(form["lot_id"])
    else:
        lot = next(
            (
                account.lots[key]
                for key in sorted(account.lots, key=int)
                if account.lots[key]["external_lot_ids"].get("other") == form["external_id"]
            ),
            None,
        )
    if lot is None:
        raise BrickOwlError(404, "Lot not found")
    return lot


def lot_changes(lot: dict, form: dict[str, str]) -> dict[str, Any]:
    """What ``inventory/update`` asks of ``lot``, validated but not applied."""
    changes: dict[str, Any] = {}
    if "absolute_quantity" in form and "relative_quantity" in form:
        raise _bad("Send absolute_quantity or relative_quantity, not both")
    if "absolute_quantity" in form:
        after = _integer(form["absolute_quantity"], "absolute_quantity")
    elif "relative_quantity" in form:
        after = int(lot["qty"]) + _integer(form["relative_quantity"], "relative_quantity")
    else:
        after = int(lot["qty"])
    if after < 0:
        raise _bad("The quantity cannot go below 0")
    changes["qty"] = str(after)
    if "price" in form:
        changes["price"] = _price(form["price"])
    if "for_sale" in form:
        changes["for_sale"] = _for_sale(form["for_sale"])
    for note in ("public_note", "personal_note"):
        if note in form:
            changes[note] = form[note]
    return changes


def list_inventory(call: Call) -> Response:
    query = call.request.query
    external = query.get("external_id_1")
    lot_id = query.get("lot_id")
    with call.state.lock:
        lots = [call.account.lots[key] for key in sorted(call.account.lots, key=int)]
        if external is not None:
            lots = [lot for lot in lots if lot["external_lot_ids"].get("other") == external]
        if lot_id is not None:
            lots = [lot for lot in lots if lot["lot_id"] == lot_id]
        return json_response(200, lots)


def create_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = store_lot(
            call.state, call.account, new_lot(call.state, call.form), _sent_fields(call.form)
        )
        return json_response(200, {"status": "success", "lot_id": lot["lot_id"]})


def update_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = _find_lot(call.account, call.form)
        changes = lot_changes(lot, call.form)
        before = int(lot["qty"])
        lot.update(changes)
        call.state.record(
            provider=BRICKOWL,
            account=call.account.key,
            op="update",
            lot_id=lot["lot_id"],
            fields=_sent_fields(call.form),
            before=before,
            after=int(lot["qty"]),
        )
    return Response(200, _SUCCESS, JSON)


def delete_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = _find_lot(call.account, call.form)
        del call.account.lots[lot["lot_id"]]
        call.state.record(
            provider=BRICKOWL,
            account=call.account.key,
            op="delete",
            lot_id=lot["lot_id"],
            fields=_sent_fields(call.form),
            before=int(lot["qty"]),
            after=0,
        )
    return Response(200, _SUCCESS, JSON)


ROUTES = [
    route(r"^/catalog/id_lookup/?$", "/catalog/id_lookup", GET=id_lookup),
    route(r"^/catalog/color_list/?$", "/catalog/color_list", GET=color_list),
    route(r"^/inventory/list/?$", "/inventory/list", GET=list_inventory),
    route(r"^/inventory/create/?$", "/inventory/create", POST=create_inventory),
    route(r"^/inventory/update/?$", "/inventory/update", POST=update_inventory),
    route(r"^/inventory/delete/?$", "/inventory/delete", POST=delete_inventory),
]


class BrickOwlApi:
    """The provider as the server sees it: routing, keys, rate limit, faults and processing."""

    name = BRICKOWL
    prefix = PREFIX

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def match(self, request: ApiRequest) -> RouteMatch:
        return match_route(ROUTES, request.method, request.path)

    def resource(self, request: ApiRequest, match: RouteMatch) -> str:
        if match.template == "/catalog/id_lookup":
            query = request.query
            return f"{request.path}?id={query.get('id', '')}&type={query.get('type', '')}"
        return request.path

    @staticmethod
    def form(request: ApiRequest) -> dict[str, str]:
        """POST parameters: BrickOwl reads them from a form-encoded body, nowhere else."""
        if request.form is None:
            content_type = request.headers.get("Content-Type", "")
            if request.method == "POST" and "x-www-form-urlencoded" in content_type:
                request.form = first_values(request.body.decode("utf-8", "replace"))
            else:
                request.form = {}
        return request.form

    def key(self, request: ApiRequest) -> str | None:
        if request.method == "POST":
            return self.form(request).get("key")
        return request.query.get("key")

    def account_hint(self, request: ApiRequest) -> str | None:
        key = self.key(request)
        return key if key in self.state.brickowl_accounts else None

    def enter(self, account: str | None) -> bool:
        return True  # BrickOwl limits by rate, not by concurrency

    def leave(self, account: str | None) -> None:
        return None

    def fault_response(self, kind: str) -> Response:
        if kind == "error_500":
            return json_response(500, {"error": "Internal Server Error"})
        if kind == "http_429":
            return json_response(
                429, {"error": "Rate limit exceeded"}, headers=(("Retry-After", "2"),)
            )
        if kind == "malformed_json":
            return Response(200, b'[{"con":"new","full_con":"new","qty":"1', JSON)
        raise ValueError(kind)

    def process(self, request: ApiRequest, match: RouteMatch) -> Response:
        try:
            return self._process(request, match)
        except BrickOwlError as error:
            return Response(error.status, dumps({"error": error.message}), JSON)

    def _process(self, request: ApiRequest, match: RouteMatch) -> Response:
        account = self.state.brickowl_accounts.get(self.key(request) or "")
        if account is None:
            self.state.refuse("brickowl_auth_403")
            raise BrickOwlError(403, "Invalid API Key")
        with self.state.lock:
            retry_after = account.admit(
                time.monotonic(), self.state.settings.brickowl_rate_per_minute
            )
            if retry_after:
                self.state.counters.refused["brickowl_rate_429"] += 1
        if retry_after:
            return json_response(
                429,
                {"error": "Rate limit exceeded"},
                headers=(("Retry-After", str(retry_after)),),
            )
        if not match.known:
            raise BrickOwlError(404, "Not Found")
        if match.handler is None:
            raise BrickOwlError(405, "Method Not Allowed")
        return match.handler(Call(self.state, account, request, self.form(request)))
