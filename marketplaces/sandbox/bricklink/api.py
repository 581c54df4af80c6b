"""BrickLink as the server sees it: routes, OAuth, quota, concurrency, fault answers."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

from marketplaces.sandbox.accounts import BRICKLINK
from marketplaces.sandbox.oauth import BrickLinkSignatureEndpoint
from marketplaces.sandbox.state import SandboxState
from marketplaces.sandbox.wire import (
    BRICKLINK_CONTENT_TYPE,
    ApiRequest,
    Response,
    RouteMatch,
    match_route,
    route,
)

from .call import Call
from .catalog import get_categories, get_category, get_color, get_colors, get_item, get_item_colors
from .envelope import BrickLinkError, envelope
from .inventory import (
    create_inventories,
    delete_inventory,
    get_inventory,
    list_inventories,
    update_inventory,
)
from .orders import get_notifications, get_order, get_order_items, list_orders
from .price_guide import get_price_guide, price_resource

PREFIX = "/bricklink/api/store/v1"


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
    route(r"^/orders/?$", "/orders", GET=list_orders),
    route(r"^/orders/([^/]+)$", "/orders/{id}", GET=get_order),
    route(r"^/orders/([^/]+)/items$", "/orders/{id}/items", GET=get_order_items),
    route(r"^/notifications/?$", "/notifications", GET=get_notifications),
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
