"""A wall-clock deadline on the whole response, status line and headers included.

A read timeout is per ``recv``, so a server dripping one byte a second would never trip it.
Each call registers its deadline with one watchdog thread per process, and the connection it
reads from hands the watchdog its socket; at the deadline the watchdog shuts the socket down,
and the ``recv`` blocked on it sees end-of-stream at once.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Deadline:
    """One call's wall-clock deadline and the socket its response is read from."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self.done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            _shutdown(self._sock)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._sock = None


def _shutdown(sock: socket.socket | None) -> None:
    """Wake a ``recv`` blocked in another thread: it sees end-of-stream at once."""
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing is reading from it
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """Expires the deadlines of this process's calls from one daemon thread."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked worker starts its own

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="marketplace-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            self._cond.notify()

    def _run(self) -> None:
        cond, heap = self._cond, self._heap
        with cond:
            while True:
                now = time.monotonic()
                while heap and (heap[0][2].done or heap[0][0] <= now):
                    heapq.heappop(heap)[2].expire()
                cond.wait(heap[0][0] - now if heap else None)


_watchdog = _Watchdog()
_current = threading.local()  # the deadline of the call this thread is making


@contextlib.contextmanager
def call_deadline(seconds: float) -> Iterator[Deadline]:
    """The deadline of the call this thread makes inside the block, ``seconds`` from now."""
    watched = Deadline(time.monotonic() + seconds)
    _current.deadline = watched
    _watchdog.watch(watched)
    try:
        yield watched
    finally:
        watched.finish()
        _current.deadline = None


def _attach_current(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(sock)


class _DeadlineHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any):
        _attach_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any):
        _attach_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """Connections whose response reading the call's deadline can cut short."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPConnectionPool,
            "https": _DeadlineHTTPSConnectionPool,
        }
