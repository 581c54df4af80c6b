"""BrickOwl as the server sees it: routes, keys, the rate limit, fault answers."""

from __future__ import annotations

import time

from marketplaces.sandbox.accounts import BRICKOWL
from marketplaces.sandbox.state import SandboxState
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

from .bulk import BATCH_TEMPLATE, run_batch
from .call import BrickOwlError, Call
from .catalog import color_list, id_lookup
from .inventory import create_inventory, delete_inventory, list_inventory, update_inventory
from .orders import list_orders, order_items, view_order

PREFIX = "/brickowl/v1"


def bulk_batch(call: Call) -> Response:
    return run_batch(call, ROUTES)


ROUTES = [
    route(r"^/catalog/id_lookup/?$", "/catalog/id_lookup", GET=id_lookup),
    route(r"^/catalog/color_list/?$", "/catalog/color_list", GET=color_list),
    route(r"^/inventory/list/?$", "/inventory/list", GET=list_inventory),
    route(r"^/inventory/create/?$", "/inventory/create", POST=create_inventory),
    route(r"^/inventory/update/?$", "/inventory/update", POST=update_inventory),
    route(r"^/inventory/delete/?$", "/inventory/delete", POST=delete_inventory),
    route(r"^/order/list/?$", "/order/list", GET=list_orders),
    route(r"^/order/view/?$", "/order/view", GET=view_order),
    route(r"^/order/items/?$", "/order/items", GET=order_items),
    route(r"^/bulk/batch/?$", BATCH_TEMPLATE, POST=bulk_batch),
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
        batch = match.template == BATCH_TEMPLATE
        with self.state.lock:
            settings = self.state.settings
            rate = (
                settings.brickowl_batch_rate_per_minute
                if batch
                else settings.brickowl_rate_per_minute
            )
            retry_after = account.admit(time.monotonic(), rate, batch=batch)
            if retry_after:
                reason = "brickowl_batch_rate_429" if batch else "brickowl_rate_429"
                self.state.counters.refused[reason] += 1
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
