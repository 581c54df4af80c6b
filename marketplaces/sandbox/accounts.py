"""The stores the sandbox keeps: one per BrickLink consumer key and per BrickOwl API key.

Each remembers its lots, its orders (BrickLink's unread notifications too) and what limits it:
BrickLink's daily quota and used nonces, BrickOwl's rolling minute. Callers hold
``state.lock`` while they change one.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from dataclasses import dataclass, field

BRICKLINK = "bricklink"
BRICKOWL = "brickowl"
PROVIDERS = (BRICKLINK, BRICKOWL)

DEFAULT_BRICKLINK_CREDENTIALS = {
    "consumer_key": "sandbox-consumer-key",
    "consumer_secret": "sandbox-consumer-secret",
    "token_value": "sandbox-token-value",
    "token_secret": "sandbox-token-secret",
}
DEFAULT_BRICKOWL_KEY = "sandbox-brickowl-key"

# A request is refused when its timestamp is more than this far from the server's clock, so a
# nonce only needs remembering until its own timestamp has aged past the window.
TIMESTAMP_WINDOW_SECONDS = 300
BRICKOWL_WINDOW_SECONDS = 60.0
DAY_SECONDS = 86400


@dataclass(slots=True)
class BrickLinkAccount:
    """One BrickLink store: its credentials, lots, daily quota and the nonces it has used."""

    consumer_key: str
    consumer_secret: str
    token_value: str
    token_secret: str
    lots: dict[int, dict] = field(default_factory=dict)
    orders: dict[int, dict] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)  # the unread ones
    quota_day: int = 0
    quota_used: int = 0
    nonces: set[str] = field(default_factory=set)
    nonce_expiry: deque[tuple[float, str]] = field(default_factory=deque)

    def claim_nonce(self, nonce: str, timestamp: int, now: float) -> bool:
        """Remember ``nonce``; False if it was already used within the timestamp window.

        Expiries are almost in order (timestamps are close to arrival times); one that is out
        of order is only forgotten a little later than it could be, never earlier.
        """
        while self.nonce_expiry and self.nonce_expiry[0][0] < now:
            self.nonces.discard(self.nonce_expiry.popleft()[1])
        if nonce in self.nonces:
            return False
        self.nonces.add(nonce)
        self.nonce_expiry.append((timestamp + TIMESTAMP_WINDOW_SECONDS + 1, nonce))
        return True

    def charge_quota(self, now: float, quota: int) -> int | None:
        """Count one call against today's quota; the seconds until midnight UTC if over it."""
        day = int(now // DAY_SECONDS)
        if day != self.quota_day:
            self.quota_day, self.quota_used = day, 0
        self.quota_used += 1
        if self.quota_used > quota:
            return max(1, math.ceil((day + 1) * DAY_SECONDS - now))
        return None


@dataclass(slots=True)
class BrickOwlAccount:
    """One BrickOwl store: its API key, lots and orders (by string id), and its rolling request
    windows: one for most calls, one for bulk/batch calls (a limit of their own)."""

    key: str
    lots: dict[str, dict] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    window: deque[float] = field(default_factory=deque)
    batch_window: deque[float] = field(default_factory=deque)

    @property
    def store_id(self) -> str:
        """The store's id, as order views and order pushes carry it: stable per key."""
        return str(1000 + zlib.crc32(self.key.encode()) % 90000)

    def admit(self, now: float, rate: int, *, batch: bool = False) -> int | None:
        """Count a request in its rolling minute (the batch calls' own when ``batch``); the
        Retry-After seconds if over the rate."""
        window = self.batch_window if batch else self.window
        while window and window[0] <= now - BRICKOWL_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= rate:
            oldest = window[0] if window else now
            return max(1, math.ceil(oldest + BRICKOWL_WINDOW_SECONDS - now))
        window.append(now)
        return None
