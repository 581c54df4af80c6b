"""The sandbox's HTTP server: routing, the per-call pipeline (faults, latency, concurrency) and
the control endpoints.

Standard library only (``ThreadingHTTPServer``, one thread per connection, HTTP/1.1
keep-alive) so it starts in a blink and needs nothing but this process. Every answer is
written in one ``write`` with an exact ``Content-Length`` and Nagle off: clients on keep-alive
connections never wait on a delayed ACK, which is what keeps thousands of calls per second
possible.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from marketplaces.sandbox import control, order_control
from marketplaces.sandbox.bricklink import BrickLinkApi
from marketplaces.sandbox.brickowl import BrickOwlApi
from marketplaces.sandbox.errors import ControlError
from marketplaces.sandbox.faults import APPLY_THEN_TIMEOUT, HANG
from marketplaces.sandbox.state import SandboxState, Settings
from marketplaces.sandbox.wire import (
    ApiRequest,
    Response,
    RouteMatch,
    first_values,
    json_response,
    nginx_503,
)

logger = logging.getLogger(__name__)

# Faults answered at once, instead of the real answer (nothing is applied).
IMMEDIATE_FAULTS = frozenset({"error_500", "html_503", "malformed_json", "http_429"})
CONTROL_PATHS = frozenset({"/_control", "/_calls", "/_ledger", "/_inventory", "/_orders"})


class Provider(Protocol):
    name: str
    prefix: str

    def match(self, request: ApiRequest) -> RouteMatch: ...
    def resource(self, request: ApiRequest, match: RouteMatch) -> str: ...
    def account_hint(self, request: ApiRequest) -> str | None: ...
    def enter(self, account: str | None) -> bool: ...
    def leave(self, account: str | None) -> None: ...
    def fault_response(self, kind: str) -> Response: ...
    def process(self, request: ApiRequest, match: RouteMatch) -> Response: ...


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, formatted once per second rather than once per response."""
    global _date_cache  # a benign race: every thread would write the same value
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # --- plumbing ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(Response(400, b'{"error":"bad request body framing"}'))
            return
        path, _, query = self.path.partition("?")
        try:
            response = self._route(path, query, body)
        except Exception:  # one bad request must not take the connection down
            logger.exception("sandbox: %s %s failed", self.command, self.path)
            response = json_response(500, {"error": "sandbox bug, see its log"})
        if response is None:
            # A hang or an apply-then-timeout: the client gets no answer at all.
            self.close_connection = True
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        return self.rfile.read(size) if size > 0 else b""

    def _read_chunked(self) -> bytes | None:
        chunks = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: Response) -> None:
        body = response.body
        lines = [
            f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}",
            "Server: nginx",
            f"Date: {_http_date()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            self.close_connection = True
            return
        if self.server.verbose:
            self.log_request(response.status, len(body))

    # --- routing -----------------------------------------------------------------------------

    def _route(self, path: str, query: str, body: bytes) -> Response | None:
        for provider in self.server.providers:
            if path == provider.prefix or path.startswith(provider.prefix + "/"):
                return self._serve_api(provider, path[len(provider.prefix) :] or "/", query, body)
        if path in CONTROL_PATHS:
            return self._serve_control(path, query, body)
        return json_response(404, {"error": f"nothing at {path}"})

    def _serve_api(self, provider: Provider, path: str, query: str, body: bytes) -> Response | None:
        """One provider call: count, fault, concurrency, latency, then the real work."""
        state = self.server.state
        request = ApiRequest(
            method=self.command,
            path=path,
            raw_query=query,
            body=body,
            headers=self.headers,
            uri=f"http://{self.headers.get('Host', '')}{self.path}",
            query=first_values(query) if query else {},
        )
        match = provider.match(request)
        account = provider.account_hint(request)
        plan = state.begin_call(
            provider=provider.name,
            method=request.method,
            path=path,
            endpoint=f"{request.method} /{provider.name}{match.template}",
            resource=f"{request.method} /{provider.name}{provider.resource(request, match)}",
            account=account,
        )
        if plan.fault == HANG:
            time.sleep(plan.hang_seconds)  # not in flight: a hung request holds no slot
            return None
        if not provider.enter(account):
            return nginx_503()
        try:
            if plan.latency_seconds:
                time.sleep(plan.latency_seconds)  # counts as being processed
            if plan.fault in IMMEDIATE_FAULTS:
                if plan.fault == "html_503":
                    return nginx_503()
                return provider.fault_response(plan.fault)
            response = provider.process(request, match)
        finally:
            provider.leave(account)
        if plan.fault == APPLY_THEN_TIMEOUT:
            time.sleep(plan.hang_seconds)  # applied, recorded, and never answered
            return None
        return response

    def _serve_control(self, path: str, query: str, body: bytes) -> Response:
        state = self.server.state
        params = first_values(query) if query else {}
        try:
            if self.command == "GET":
                return json_response(200, self._control_get(path, params))
            if self.command == "POST" and path in ("/_control", "/_inventory", "/_orders"):
                try:
                    payload = json.loads(body or b"{}")
                except ValueError as exc:
                    raise ControlError(f"the body is not valid JSON: {exc}") from exc
                if path == "/_control":
                    return json_response(200, control.control(state, payload))
                if path == "/_orders":
                    return json_response(200, order_control.order_change(state, payload))
                return json_response(200, control.inventory_change(state, payload))
        except ControlError as error:
            return json_response(error.status, {"error": str(error)})
        return json_response(405, {"error": f"{self.command} is not allowed on {path}"})

    def _control_get(self, path: str, params: dict[str, str]) -> object:
        state = self.server.state
        if path == "/_calls":
            return state.calls()
        if path == "/_ledger":
            return control.ledger(state, params)
        if path == "/_inventory":
            return control.inventory(state, params.get("provider"), params.get("account"))
        if path == "/_orders":
            return order_control.orders(state, params.get("provider"), params.get("account"))
        return control.current_config(state)


class SandboxHTTPServer(ThreadingHTTPServer):
    """Many keep-alive clients at once; hung requests never keep the process from exiting."""

    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], state: SandboxState, *, verbose: bool = False
    ) -> None:
        self.state = state
        self.verbose = verbose
        self.providers: tuple[Provider, ...] = (BrickLinkApi(state), BrickOwlApi(state))
        super().__init__(address, SandboxRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: socket.socket, client_address: object) -> None:
        if self.verbose:
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"


def make_server(
    host: str, port: int, settings: Settings, *, verbose: bool = False
) -> SandboxHTTPServer:
    return SandboxHTTPServer((host, port), SandboxState(settings), verbose=verbose)


def banner(server: SandboxHTTPServer) -> str:
    return (
        f"Marketplace sandbox on {server.url} "
        "(BrickLink /bricklink/api/store/v1, BrickOwl /brickowl/v1)"
    )


__all__ = ["SandboxHTTPServer", "banner", "make_server"]
