"""Both clients against a real, hostile HTTP server on a local port.

The server is a raw threaded socket server started by the test: it can drip a response a byte
at a time, announce or stream 50 MB, nest 100,000 ``[``, answer HTML, redirect. Every call must
end by its deadline in one of :mod:`marketplaces.errors`, with bounded memory, and never follow
a redirect. Clients are pointed at it through their base-URL settings, as the sandbox tests do.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import re
import socket
import socketserver
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from marketplaces.bricklink import BrickLinkClient, Credentials
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import BadRequest, MarketplaceError, RateLimited, TransientError
from marketplaces.http import parse_retry_after, sessions

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture
def hostile(settings):
    """A hostile server on a free local port, with tight limits for the clients."""
    settings.MARKETPLACE_CONNECT_TIMEOUT = 2.0
    settings.MARKETPLACE_READ_TIMEOUT = 2.0  # each drip arrives well within it
    settings.MARKETPLACE_DEADLINE = 2.0
    settings.MARKETPLACE_MAX_RESPONSE_BYTES = 1 * MB
    with HostileServer() as server:
        yield Upstream(server, settings)
    sessions.clear()


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


# --- slow drip ---------------------------------------------------------------------------------


def drip(server: HostileServer, prefix: bytes) -> Callable[[socket.socket, str], None]:
    """Send ``prefix`` then one byte every half second until the client hangs up."""

    def action(conn, scenario):
        server.send(conn, scenario, prefix)
        until = time.monotonic() + SERVER_HOLD_LIMIT
        while not server.stop.is_set() and time.monotonic() < until:
            server.send(conn, scenario, b"[" if prefix else b"X")
            time.sleep(DRIP_INTERVAL)

    return action


@pytest.mark.parametrize(
    ("where", "prefix"),
    [
        ("status-line", b""),
        ("headers", b"HTTP/1.1 200 OK\r\nX-Slow: "),
        ("body", b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"),
    ],
)
@pytest.mark.parametrize("client", ["bricklink", "brickowl"])
def test_a_slow_drip_ends_by_the_deadline_as_a_transient_error(hostile, where, prefix, client):
    name = f"drip-{where}"
    hostile.scenarios[name] = drip(hostile.server, prefix)
    # The server would hold the connection 30 s: ending within 15 s is the 2 s deadline's doing.
    error = run_bounded(hostile.call(client, name), limit=15.0)
    assert isinstance(error, TransientError)
    assert error.retryable
    assert "deadline" in error.message
    assert hostile.sent[name] >= 2  # it did drip


def test_a_drip_on_a_mutation_is_ambiguous(hostile):
    """A PUT cut off by the deadline may have been applied: the sync must re-read, not replay."""
    hostile.scenarios["put"] = drip(
        hostile.server, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
    )
    client = hostile.bricklink("put")
    error = run_bounded(lambda: client.inventory_update(7, description="x", quantity_delta=1))
    assert isinstance(error, TransientError)
    assert "deadline" in error.message
    assert error.ambiguous


# --- size --------------------------------------------------------------------------------------


def huge(server: HostileServer, *, announce: bool, gzipped: bool = False):
    body_size = 50 * MB
    block = b" " * 65536
    # Made here, before the test measures memory: ~50 KB that inflate to 50 MB.
    payload = gzip.compress(b" " * body_size, compresslevel=9) if gzipped else b""

    def action(conn, scenario):
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if announce:
            head += f"Content-Length: {body_size}\r\n"
        if gzipped:
            head += f"Content-Encoding: gzip\r\nContent-Length: {len(payload)}\r\n"
            server.send(conn, scenario, (head + "\r\n").encode() + payload)
            return
        server.send(conn, scenario, (head + "Connection: close\r\n\r\n").encode())
        for _ in range(body_size // len(block)):
            server.send(conn, scenario, block)

    return action


@pytest.mark.parametrize(
    ("name", "announce", "gzipped"),
    [("announced", True, False), ("streamed", False, False), ("gzip-bomb", False, True)],
)
def test_a_50mb_answer_is_refused_at_the_cap_without_reading_it_all(
    hostile, name, announce, gzipped
):
    hostile.scenarios[name] = huge(hostile.server, announce=announce, gzipped=gzipped)
    call = hostile.call("bricklink", name)  # the session exists before measuring
    tracemalloc.start()
    try:
        error = run_bounded(call)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, TransientError)
    assert "larger than" in error.message
    # The cap is 1 MB: a client that read the 50 MB would have held at least that much.
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"
    if not gzipped:
        # What the server got out before the client hung up: the cap plus socket buffers.
        assert hostile.sent[name] < 25 * MB, hostile.sent[name]


def test_an_announced_oversized_body_is_refused_before_reading_any_of_it(hostile):
    """Content-Length over the cap: nothing of the body is read (the server sends only the
    head and then waits; a client reading the body would wait for the deadline)."""

    def announce_only(conn, scenario):
        hostile.send(conn, scenario, b"HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\n")
        hostile.stop.wait(SERVER_HOLD_LIMIT)

    hostile.scenarios["announce-only"] = announce_only
    error = run_bounded(hostile.call("bricklink", "announce-only"))
    assert isinstance(error, TransientError)
    assert "Content-Length" in error.message
    assert "deadline" not in error.message


# --- malformed bodies --------------------------------------------------------------------------


def fixed(server: HostileServer, status: str, body: bytes, content_type="application/json", **h):
    def action(conn, scenario):
        server.send(conn, scenario, response(status, body, content_type, **h))

    return action


NESTED = b"[" * 100_000
ENVELOPE_NESTED = b'{"meta": {"code": 200}, "data": ' + b"[" * 100_000 + b"]}"
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        ("200 OK", NESTED, "application/json"),
        ("200 OK", ENVELOPE_NESTED, "text/html"),
        ("200 OK", HTML, "text/html"),
        ("503 Service Unavailable", HTML, "text/html"),
        ("503 Service Unavailable", NESTED, "application/json"),
        ("200 OK", b"\xff\xfe\x00garbage\x80", "application/json"),
    ],
    ids=["nested-200", "nested-in-envelope", "html-200", "html-503", "nested-503", "not-utf8"],
)
def test_bricklink_malformed_answers_are_classified(hostile, status, body, content_type):
    hostile.scenarios["bad"] = fixed(hostile.server, status, body, content_type)
    error = run_bounded(hostile.call("bricklink", "bad"))
    assert isinstance(error, TransientError)
    assert error.retryable
    assert error.http_status == int(status.split()[0])


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        ("200 OK", NESTED, "application/json"),
        ("200 OK", HTML, "text/html"),
        ("503 Service Unavailable", HTML, "text/html"),
        ("503 Service Unavailable", NESTED, "application/json"),
    ],
    ids=["nested-200", "html-200", "html-503", "nested-503"],
)
def test_brickowl_malformed_answers_are_classified(hostile, status, body, content_type):
    hostile.scenarios["bad"] = fixed(hostile.server, status, body, content_type)
    error = run_bounded(hostile.call("brickowl", "bad"))
    assert isinstance(error, TransientError)
    assert error.http_status == int(status.split()[0])


@pytest.mark.parametrize(
    "data",
    [
        b'{"no": "3001", "year_released": Infinity, "category_id": 1e999}',  # floats overflow
        b'{"no": "3001", "year_released": 99999999999999999999999999}',
    ],
    ids=["infinity", "huge-optional"],
)
def test_bricklink_out_of_range_optional_numbers_become_null(hostile, data):
    body = b'{"meta": {"code": 200}, "data": ' + data + b"}"
    hostile.scenarios["odd"] = fixed(hostile.server, "200 OK", body)
    item = hostile.bricklink("odd").item("3001")
    assert item.year_released is None


@pytest.mark.parametrize(
    "value",
    [b'"1e50000"', b"Infinity", b"NaN", b'"' + b"9" * 5000 + b'"', b"1e5000", b"[1]"],
    ids=["exponent", "infinity", "nan", "5000-digits", "float-overflow", "list"],
)
def test_bricklink_unusable_required_integers_are_malformed_not_crashes(hostile, value):
    """``int(Decimal("1e999999999"))`` builds a billion-digit number holding the GIL for
    minutes (``"1e50000"`` here: the same path, in milliseconds); ``int(inf)`` raises
    OverflowError. Each must be a classified error."""
    body = b'{"meta": {"code": 200}, "data": [{"color_id": ' + value + b', "quantity": 1}]}'
    hostile.scenarios["ints"] = fixed(hostile.server, "200 OK", body)
    client = hostile.bricklink("ints")
    error = run_bounded(lambda: client.known_colors("3001"), limit=10)
    assert isinstance(error, TransientError)
    assert "malformed" in error.message


def test_a_meta_code_that_is_not_a_finite_number_is_classified(hostile):
    hostile.scenarios["meta"] = fixed(hostile.server, "200 OK", b'{"meta": {"code": Infinity}}')
    error = run_bounded(hostile.call("bricklink", "meta"))
    assert isinstance(error, TransientError)


def test_brickowl_odd_color_ids_are_skipped_not_crashes(hostile):
    superscript_two = "\u00b2".encode()  # "²".isdigit() is true, int("²") raises
    body = (
        b'{"1": {"id": "1", "name": "White", "bl_ids": ["' + superscript_two + b'", '
        b'"99999999999999999999", 1]}, "2": {"id": 2, "name": "Tan", "bl_ids": 7}}'
    )
    hostile.scenarios["colors"] = fixed(hostile.server, "200 OK", body)
    colors = hostile.brickowl("colors").color_list()
    assert [(c.id, c.bl_ids) for c in colors] == [(1, (1,)), (2, ())]


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_a_redirect_to_localhost_is_not_followed(hostile, status):
    target = f"http://127.0.0.1:{hostile.port}/stolen/loot"
    hostile.scenarios["moved"] = fixed(hostile.server, status, b"", Location=target)
    error = run_bounded(hostile.call("bricklink", "moved"))
    assert isinstance(error, BadRequest)
    assert not error.retryable
    assert "redirect" in error.message
    # BrickOwl's key travels in the query: following would hand it to the redirect's target.
    owl_error = run_bounded(hostile.call("brickowl", "moved"))
    assert isinstance(owl_error, BadRequest)
    assert hostile.hits["moved"] == 2
    assert hostile.hits["stolen"] == 0
    assert OWL_KEY not in str(owl_error)
    assert target not in str(owl_error)


# --- Retry-After -------------------------------------------------------------------------------

MALFORMED_RETRY_AFTER = [
    "soon",
    "-5",
    "1e400",
    "NaN",
    "inf",
    "",
    "   ",
    "99999999999999999999999",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 99999999 00:00:00 GMT",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Thu, 32 Foo 2026 25:61:61 GMT",
    "\x00",
    "1" * 5000,
]


@pytest.mark.parametrize("value", MALFORMED_RETRY_AFTER)
def test_parse_retry_after_tolerates_anything_and_caps_every_wait(value):
    seconds = parse_retry_after(value, default=60.0, cap=900.0)
    assert 0.0 <= seconds <= 900.0


@pytest.mark.parametrize("value", ["soon", "1e400", "Fri, 31 Dec 9999 23:59:59 GMT", "-5"])
def test_a_429_with_a_malformed_retry_after_is_rate_limited_within_the_cap(hostile, value):
    from marketplaces import bricklink as bl
    from marketplaces import brickowl as bo

    body = b'{"meta": {"code": 429, "message": "TOO_MANY_REQUESTS"}}'
    hostile.scenarios["slow-down"] = fixed(
        hostile.server, "429 Too Many Requests", body, Retry_After=value
    )
    error = run_bounded(hostile.call("bricklink", "slow-down"))
    assert isinstance(error, RateLimited)
    assert 0 <= error.retry_after <= bl.MAX_RETRY_AFTER
    owl_error = run_bounded(hostile.call("brickowl", "slow-down"))
    assert isinstance(owl_error, RateLimited)
    assert 0 <= owl_error.retry_after <= bo.MAX_RETRY_AFTER


# --- retries reschedule, never sleep -----------------------------------------------------------

# Where sleeping is legitimate: ``?wait=N`` of a catalog read holds a *web* request (at most
# 10 s, by contract); the sandbox imitates latency and hangs.
SLEEP_ALLOWED = {"catalog/services/reads.py"}


def test_no_worker_code_sleeps_to_wait_for_a_retry():
    """Retries and rate-limit waits are rescheduled (a countdown, the drain, the sweeper):
    a worker that slept would hold its process and its task's time limit."""
    offenders = []
    for package in ("catalog", "inventory", "marketplaces", "outbox", "ratelimit"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("marketplaces/sandbox/") or relative in SLEEP_ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\bsleep\s*\(", line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
