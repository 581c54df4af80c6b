"""Pooled ``requests`` sessions: one per set of credentials, no transparent retries."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import requests

from .deadline import DeadlineAdapter


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
