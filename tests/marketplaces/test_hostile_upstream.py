"""Both clients against a real, hostile HTTP server on a local port: deadlines and size.

Every call must end by its deadline in one of :mod:`marketplaces.errors`, with bounded memory,
however slowly or however much the server sends (``test_hostile_answers.py``: whatever it
sends). Clients are pointed at it through their base-URL settings, as the sandbox tests do.
"""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
from collections.abc import Callable

import pytest

from marketplaces.errors import TransientError
from tests.marketplaces.hostile import (
    DRIP_INTERVAL,
    MB,
    SERVER_HOLD_LIMIT,
    HostileServer,
    run_bounded,
)

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
