"""A real, hostile HTTP server on a local port, and both clients pointed at it.

The server answers by the first segment of the request's path: the scenario a test installed
(``hostile.scenarios[name] = action``). It can drip a response a byte at a time, announce or
stream 50 MB, nest 100,000 ``[``, answer HTML, redirect. The ``hostile`` fixture
(``conftest.py``) starts one with tight limits for the clients.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Callable

import pytest

from marketplaces.bricklink import BrickLinkClient, Credentials
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import MarketplaceError

MB = 1024 * 1024
DRIP_INTERVAL = 0.5
# The longest any scenario may keep a connection: the server stops by itself.
SERVER_HOLD_LIMIT = 30.0
CREDENTIALS = Credentials("ck-hostile", "cs-hostile", "tv-hostile", "ts-hostile")
OWL_KEY = "owl-key-hostile"


class HostileServer:
    """Answers by the first segment of the request's path: the scenario the test installed."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.stop = threading.Event()
        self.scenarios: dict[str, Callable[[socket.socket, str], None]] = {}
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(SERVER_HOLD_LIMIT)
                path = read_request_path(self.request)
                if path is None:
                    return
                scenario = path.strip("/").split("/")[0]
                server.hits[scenario] += 1
                action = server.scenarios.get(scenario, not_found)
                # The client hanging up is exactly what a refused answer looks like.
                with contextlib.suppress(OSError):
                    action(self.request, scenario)

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.port = self.tcp.server_address[1]
        self.thread = threading.Thread(target=self.tcp.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def send(self, conn: socket.socket, scenario: str, data: bytes) -> None:
        conn.sendall(data)
        self.sent[scenario] += len(data)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.tcp.shutdown()
        self.tcp.server_close()


def read_request_path(conn: socket.socket) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    remaining = int(length.group(1)) - len(rest) if length else 0
    while remaining > 0:
        chunk = conn.recv(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    return request_line.split(" ")[1].split("?", 1)[0]


def response(status: str, body: bytes, content_type: str = "application/json", **headers) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def not_found(conn, scenario) -> None:
    conn.sendall(response("404 Not Found", b'{"error": "no such scenario"}'))


class Upstream:
    """The server, and clients built from the settings pointing at one of its scenarios."""

    def __init__(self, server: HostileServer, settings) -> None:
        self.server = server
        self.settings = settings

    def __getattr__(self, name):
        return getattr(self.server, name)

    def bricklink(self, scenario: str) -> BrickLinkClient:
        self.settings.BRICKLINK_API_URL = f"{self.server.url}/{scenario}"
        return BrickLinkClient(CREDENTIALS)

    def brickowl(self, scenario: str) -> BrickOwlClient:
        self.settings.BRICKOWL_API_URL = f"{self.server.url}/{scenario}"
        return BrickOwlClient(OWL_KEY)

    def call(self, provider: str, scenario: str) -> Callable[[], object]:
        """A catalog GET of either client."""
        if provider == "bricklink":
            client = self.bricklink(scenario)
            return lambda: client.item("3001")
        owl = self.brickowl(scenario)
        return owl.color_list


def run_bounded(call: Callable[[], object], limit: float = 15.0) -> MarketplaceError:
    """Run the call in a thread: a client that hangs fails the test instead of hanging it."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(call)
    try:
        future.result(timeout=limit)
    except MarketplaceError as exc:
        return exc
    except concurrent.futures.TimeoutError:
        pytest.fail(f"the call was still running after {limit}s: no deadline")
    finally:
        pool.shutdown(wait=False)
    pytest.fail("the call succeeded against a hostile server")
