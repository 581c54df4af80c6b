"""The outbound HTTP layer both clients share.

Every call has connect and read timeouts, a wall-clock deadline for the whole response,
status line and headers included (a read timeout is per ``recv``, so a server dripping one byte
a second would never trip it: a watchdog thread shuts the socket down at the deadline), a cap
on the response size (a larger ``Content-Length`` is refused before reading anything), and no
redirects. An answer the client cannot decode, whatever it holds, is a
:class:`~marketplaces.errors.TransientError`, never another exception. Transport failures
become :mod:`marketplaces.errors`; messages never include URLs (BrickOwl's key travels in
them) and exceptions are raised ``from None`` so a logged traceback cannot carry one either.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.metrics import record_marketplace_call

from .errors import BadRequest, MarketplaceError, TransientError

logger = logging.getLogger("marketplaces.http")

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What decoding a hostile or broken answer can raise besides our own errors.
UNDECODABLE = (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, RecursionError)


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    deadline: float = 30.0
    max_response_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_settings(cls) -> HttpConfig:
        return cls(
            connect_timeout=settings.MARKETPLACE_CONNECT_TIMEOUT,
            read_timeout=settings.MARKETPLACE_READ_TIMEOUT,
            deadline=settings.MARKETPLACE_DEADLINE,
            max_response_bytes=settings.MARKETPLACE_MAX_RESPONSE_BYTES,
        )


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: CaseInsensitiveDict
    body: bytes


def fingerprint(*parts: str) -> str:
    """A stable, non-reversible identity for credentials (pool keys, logs)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


class SessionPool:
    """One pooled ``requests.Session`` per set of credentials, least recently used evicted."""

    def __init__(self, max_sessions: int = 256) -> None:
        self._sessions: OrderedDict[str, requests.Session] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_sessions

    def get(self, key: str, factory: Callable[[], requests.Session]) -> requests.Session:
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
                return session
            session = factory()
            self._sessions[key] = session
            while len(self._sessions) > self._max:
                _, old = self._sessions.popitem(last=False)
                old.close()
            return session

    def clear(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()


sessions = SessionPool()


class _Deadline:
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
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
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


def new_session(auth: Any = None) -> requests.Session:
    session = requests.Session()
    # No transparent retries: a retry is a decision (a PUT is a delta), taken by the caller.
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.auth = auth
    session.headers["User-Agent"] = "brickops/1.0"
    session.trust_env = False  # proxies and .netrc from the environment never apply
    return session


def parse_retry_after(value: str | None, *, default: float, cap: float) -> float:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    A missing or malformed header gives ``default``; every answer is within ``[0, cap]``.
    """
    seconds: float | None = None
    if value:
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                seconds = (when - datetime.now(UTC)).total_seconds()
        if seconds is not None and seconds != seconds:  # NaN
            seconds = None
    if seconds is None:
        seconds = default
    return max(0.0, min(seconds, cap))


def seconds_until_next_utc_midnight(now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


class MarketplaceClient:
    """Base of both clients: sends, classifies transport failures, logs one line and counts
    each call (``brickops_marketplace_requests_total`` and its duration)."""

    provider = "marketplace"

    def __init__(self, *, base_url: str, session: requests.Session, http: HttpConfig) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.http = http

    def _call(
        self,
        method: str,
        template: str,
        decode: Callable[[RawResponse, str, str], tuple[T, int | None]],
        *,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        max_bytes: int | None = None,
    ) -> T:
        """Send one request and decode it; ``decode`` answers ``(value, meta code or None)``."""
        started = time.monotonic()
        try:
            raw = self._send(method, template, path_params, params, json, data, max_bytes)
            try:
                result, meta_code = decode(raw, method, template)
            except UNDECODABLE as exc:
                # Whatever the marketplace sent (infinities, 10^5000, lists for objects...),
                # the caller sees one of our errors, never a ValueError or RecursionError.
                raise TransientError(
                    f"malformed response ({type(exc).__name__})",
                    provider=self.provider,
                    method=method,
                    path=template,
                    http_status=raw.status,
                    ambiguous=method not in SAFE_METHODS,
                ) from None
        except MarketplaceError as exc:
            self._record(method, template, exc.http_status, exc.meta_code, started, exc.code)
            raise
        self._record(method, template, raw.status, meta_code, started, "ok")
        return result

    def _record(
        self,
        method: str,
        template: str,
        status: int | None,
        meta_code: int | None,
        started: float,
        outcome: str,
    ) -> None:
        """One log line and the call's metrics, both keyed by the path *template*."""
        seconds = time.monotonic() - started
        record_marketplace_call(
            provider=self.provider,
            method=method,
            template=template,
            outcome=outcome,
            seconds=seconds,
        )
        duration_ms = seconds * 1000
        logger.log(
            logging.INFO if outcome == "ok" else logging.WARNING,
            "%s %s %s -> %s meta=%s %s in %.1fms",
            self.provider,
            method,
            template,
            status if status is not None else "-",
            meta_code if meta_code is not None else "-",
            outcome,
            duration_ms,
            extra={
                "provider": self.provider,
                "method": method,
                "path": template,
                "status": status,
                "meta_code": meta_code,
                "outcome": outcome,
                "duration_ms": round(duration_ms, 1),
            },
        )

    def _send(
        self,
        method: str,
        template: str,
        path_params: dict[str, Any] | None,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, Any] | None,
        max_bytes: int | None,
    ) -> RawResponse:
        watched = _Deadline(time.monotonic() + self.http.deadline)
        _current.deadline = watched
        _watchdog.watch(watched)
        try:
            return self._send_watched(
                watched, method, template, path_params, params, json, data, max_bytes
            )
        finally:
            watched.finish()
            _current.deadline = None

    def _send_watched(
        self,
        watched: _Deadline,
        method: str,
        template: str,
        path_params: dict[str, Any] | None,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, Any] | None,
        max_bytes: int | None,
    ) -> RawResponse:
        path = template.format(
            **{k: quote(str(v), safe="") for k, v in (path_params or {}).items()}
        )
        url = f"{self.base_url}{path}"
        may_apply = method not in SAFE_METHODS
        deadline = watched.at
        limit = max_bytes or self.http.max_response_bytes
        late = f"response not complete within the {self.http.deadline}s deadline"

        def fail(message: str, *, ambiguous: bool, status: int | None = None) -> TransientError:
            if watched.expired:  # whatever broke, it broke because the watchdog cut it off
                message, ambiguous = late, True
            return TransientError(
                message,
                provider=self.provider,
                method=method,
                path=template,
                http_status=status,
                ambiguous=may_apply and ambiguous,
            )

        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                timeout=(self.http.connect_timeout, self.http.read_timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.ConnectTimeout:
            raise fail("connect timeout", ambiguous=False) from None
        except requests.ReadTimeout:
            raise fail(f"no response within {self.http.read_timeout}s", ambiguous=True) from None
        except requests.ConnectionError as exc:
            refused = _connection_never_made(exc)
            message = "connection refused" if refused else "connection broken"
            raise fail(message, ambiguous=not refused) from None
        except requests.RequestException as exc:
            raise fail(f"request failed ({type(exc).__name__})", ambiguous=True) from None

        try:
            if 300 <= response.status_code < 400:
                raise BadRequest(
                    "unexpected redirect (not followed)",
                    provider=self.provider,
                    method=method,
                    path=template,
                    http_status=response.status_code,
                )
            if _declared_length(response.headers) > limit:
                raise fail(
                    f"response larger than {limit} bytes (Content-Length)",
                    ambiguous=True,
                    status=response.status_code,
                )
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise fail(late, ambiguous=True, status=response.status_code)
                chunk = response.raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise fail(
                        f"response larger than {limit} bytes",
                        ambiguous=True,
                        status=response.status_code,
                    )
            if watched.expired:  # cut off: the end of the stream was not the end of the body
                raise fail(late, ambiguous=True, status=response.status_code)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise fail(
                f"response broken off ({type(exc).__name__})",
                ambiguous=True,
                status=response.status_code,
            ) from None
        finally:
            response.close()
        return RawResponse(status=response.status_code, headers=response.headers, body=bytes(body))


def _declared_length(headers: CaseInsensitiveDict) -> int:
    """The ``Content-Length`` a response announces; 0 when absent or unreadable."""
    value = (headers.get("Content-Length") or "").strip()
    if not value.isdigit() or not value.isascii():
        return 0
    return int(value) if len(value) < 20 else 10**20


def _connection_never_made(exc: requests.ConnectionError) -> bool:
    """True when the request certainly never reached the server (refused, DNS failure)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )
