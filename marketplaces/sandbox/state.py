"""Everything the sandbox remembers: settings, stores, counters, fault rules and the ledger.

One :class:`SandboxState` per process, shared by the server's threads. Every read-modify-write
happens under ``state.lock``; nobody sleeps while holding it (latency and hangs are slept by
the request thread after it has let go).
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from marketplaces.sandbox.catalog import Catalog, build_catalog

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

# The order matters: one uniform draw per matching rule is compared against the cumulative
# probabilities in this order, so a seed replays the same faults.
FAULT_KINDS = ("error_500", "html_503", "hang", "malformed_json", "apply_then_timeout", "http_429")
HANG = "hang"
APPLY_THEN_TIMEOUT = "apply_then_timeout"
ERROR_MODES = ("200", "real")
# A request is refused when its timestamp is more than this far from the server's clock, so a
# nonce only needs remembering until its own timestamp has aged past the window.
TIMESTAMP_WINDOW_SECONDS = 300
BRICKOWL_WINDOW_SECONDS = 60.0
DAY_SECONDS = 86400


class ControlError(ValueError):
    """A control request the sandbox refuses; nothing of it has been applied."""

    status = 400


class ControlNotFound(ControlError):
    status = 404


@dataclass(slots=True)
class FaultRule:
    """Which calls a rule matches, what it injects with which probability, how often at most."""

    provider: str = "*"
    method: str = "*"
    path: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    latency_fixed_ms: int = 0
    latency_random_ms: int = 0
    hang_seconds: float = 15.0
    times: int | None = None
    after: int = 0  # matching calls let through before the rule may inject ("the 3rd fails")
    matched: int = 0
    injected: int = 0
    pattern: re.Pattern[str] = field(default=re.compile(""), repr=False)

    def matches(self, provider: str, method: str, path: str) -> bool:
        return (
            self.provider in ("*", provider)
            and self.method in ("*", method)
            and self.pattern.search(path) is not None
        )

    def can_inject(self) -> bool:
        return (
            bool(self.probabilities)
            and self.matched > self.after
            and (self.times is None or self.injected < self.times)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "method": self.method,
            "path": self.path,
            **{kind: self.probabilities.get(kind, 0.0) for kind in FAULT_KINDS},
            "latency_fixed_ms": self.latency_fixed_ms,
            "latency_random_ms": self.latency_random_ms,
            "hang_seconds": self.hang_seconds,
            "times": self.times,
            "after": self.after,
            "injected": self.injected,
        }


_RULE_KEYS = {
    "provider",
    "method",
    "path",
    "latency_fixed_ms",
    "latency_random_ms",
    "hang_seconds",
    "times",
    "after",
    "injected",
    *FAULT_KINDS,
}


def _number(raw: dict, key: str, default: float, *, minimum: float = 0) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ControlError(f"{key} must be a number >= {minimum}, not {value!r}")
    return value


def _integer(value: Any, key: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{key} must be an integer >= {minimum}, not {value!r}")
    return value


def parse_fault_rule(raw: Any) -> FaultRule:
    """A rule from its JSON form, or :class:`ControlError` saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise ControlError(f"a fault rule must be an object, not {raw!r}")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ControlError(f"unknown fault rule keys: {sorted(unknown)}")
    provider = raw.get("provider", "*")
    if provider not in (*PROVIDERS, "*"):
        raise ControlError(f"provider must be bricklink, brickowl or *, not {provider!r}")
    method = raw.get("method", "*")
    if not isinstance(method, str) or not method:
        raise ControlError(f"method must be an HTTP method or *, not {method!r}")
    path = raw.get("path", "")
    if not isinstance(path, str):
        raise ControlError(f"path must be a regular expression, not {path!r}")
    try:
        pattern = re.compile(path)
    except re.error as exc:
        raise ControlError(f"path is not a valid regular expression: {exc}") from exc
    probabilities = {}
    for kind in FAULT_KINDS:
        p = _number(raw, kind, 0.0)
        if p > 1:
            raise ControlError(f"{kind} is a probability (0..1), not {p!r}")
        if p:
            probabilities[kind] = float(p)
    if sum(probabilities.values()) > 1 + 1e-9:
        raise ControlError("the fault probabilities of one rule add up to more than 1")
    times = raw.get("times")
    return FaultRule(
        provider=provider,
        method=method.upper(),
        path=path,
        probabilities=probabilities,
        latency_fixed_ms=_integer(raw.get("latency_fixed_ms", 0), "latency_fixed_ms"),
        latency_random_ms=_integer(raw.get("latency_random_ms", 0), "latency_random_ms"),
        hang_seconds=float(_number(raw, "hang_seconds", 15.0)),
        times=None if times is None else _integer(times, "times"),
        after=_integer(raw.get("after", 0), "after"),
        pattern=pattern,
    )


@dataclass(slots=True)
class Settings:
    """What ``/_control`` can change, and what ``reset`` returns to."""

    seed: int = 1
    fault_seed: int | None = None  # the faults' own seed; None: the catalog's seed
    generated_parts: int = 240  # set at start only (--parts): the catalog's size
    bricklink_quota: int = 5000
    bricklink_max_in_flight: int = 5
    bricklink_error_http_status: str = "200"
    brickowl_rate_per_minute: int = 600
    latency_fixed_ms: int = 0
    latency_random_ms: int = 0
    faults: list[FaultRule] = field(default_factory=list)

    def copy(self) -> Settings:
        """A copy whose fault rules have fresh injection counters."""
        return replace(self, faults=[replace(rule, matched=0, injected=0) for rule in self.faults])


@dataclass(slots=True)
class BrickLinkAccount:
    """One BrickLink store: its credentials, lots, daily quota and the nonces it has used."""

    consumer_key: str
    consumer_secret: str
    token_value: str
    token_secret: str
    lots: dict[int, dict] = field(default_factory=dict)
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
    """One BrickOwl store: its API key, lots (by string lot id) and rolling request window."""

    key: str
    lots: dict[str, dict] = field(default_factory=dict)
    window: deque[float] = field(default_factory=deque)

    def admit(self, now: float, rate: int) -> int | None:
        """Count a request in the rolling minute; the Retry-After seconds if over the rate."""
        while self.window and self.window[0] <= now - BRICKOWL_WINDOW_SECONDS:
            self.window.popleft()
        if len(self.window) >= rate:
            oldest = self.window[0] if self.window else now
            return max(1, math.ceil(oldest + BRICKOWL_WINDOW_SECONDS - now))
        self.window.append(now)
        return None


@dataclass(slots=True)
class CallPlan:
    """What the fault rules and latency settings decided for one call."""

    fault: str | None = None
    latency_seconds: float = 0.0
    hang_seconds: float = 15.0


@dataclass(slots=True)
class Counters:
    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_resource: Counter[str] = field(default_factory=Counter)
    by_account: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)


def iso_now() -> str:
    """BrickLink's timestamp format: ISO 8601, milliseconds, Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class SandboxState:
    """The sandbox's memory. ``startup`` is what ``reset`` goes back to."""

    def __init__(self, startup: Settings) -> None:
        self.lock = threading.Lock()
        self.startup = startup.copy()
        # Requests in progress per consumer key. Not cleared by reset: those requests are
        # still running and will leave.
        self.in_flight: Counter[str] = Counter()
        self.reset_locked()

    # --- lifecycle -------------------------------------------------------------------------

    def reset_locked(self) -> None:
        """Back to the startup settings, with empty stores and counters. Caller holds the lock."""
        self.settings = self.startup.copy()
        self.catalog: Catalog = build_catalog(self.settings.seed, self.settings.generated_parts)
        self._reseed()
        self.bricklink_accounts: dict[str, BrickLinkAccount] = {}
        self.brickowl_accounts: dict[str, BrickOwlAccount] = {}
        self.add_bricklink_account(**DEFAULT_BRICKLINK_CREDENTIALS)
        self.add_brickowl_account(DEFAULT_BRICKOWL_KEY)
        self.counters = Counters()
        self.ledger: list[dict] = []
        self.next_inventory_id = 100_000_001
        self.next_brickowl_lot_id = 2_700_001

    def _reseed(self) -> None:
        # Seeded on purpose: the same seed and call sequence replay the same faults.
        settings = self.settings
        faults = settings.seed if settings.fault_seed is None else settings.fault_seed
        self.fault_rng = random.Random(f"faults:{faults}")  # noqa: S311
        self.latency_rng = random.Random(f"latency:{settings.seed}")  # noqa: S311

    def reset(self) -> None:
        with self.lock:
            self.reset_locked()

    def set_seed(self, seed: int) -> None:
        """Caller holds the lock."""
        self.settings.seed = seed
        self.catalog = build_catalog(seed, self.settings.generated_parts)
        self._reseed()

    def set_fault_seed(self, seed: int) -> None:
        """Another sequence of faults over the same catalog. Caller holds the lock."""
        self.settings.fault_seed = seed
        self._reseed()

    def add_bricklink_account(
        self, *, consumer_key: str, consumer_secret: str, token_value: str, token_secret: str
    ) -> None:
        """Register credentials; re-registering a consumer key keeps its store."""
        existing = self.bricklink_accounts.get(consumer_key)
        if existing:
            existing.consumer_secret, existing.token_value = consumer_secret, token_value
            existing.token_secret = token_secret
            return
        self.bricklink_accounts[consumer_key] = BrickLinkAccount(
            consumer_key, consumer_secret, token_value, token_secret
        )

    def add_brickowl_account(self, key: str) -> None:
        self.brickowl_accounts.setdefault(key, BrickOwlAccount(key))

    # --- per call ----------------------------------------------------------------------------

    def begin_call(
        self,
        *,
        provider: str,
        method: str,
        path: str,
        endpoint: str,
        resource: str,
        account: str | None,
    ) -> CallPlan:
        """Count the call and decide its fault and latency, in one trip through the lock."""
        with self.lock:
            counters = self.counters
            counters.total += 1
            counters.by_endpoint[endpoint] += 1
            counters.by_resource[resource] += 1
            if account is not None:
                counters.by_account[account] += 1
            plan = CallPlan()
            settings = self.settings
            latency_ms = settings.latency_fixed_ms
            if settings.latency_random_ms:
                latency_ms += self.latency_rng.uniform(0, settings.latency_random_ms)
            for rule in settings.faults:
                if not rule.matches(provider, method, path):
                    continue
                rule.matched += 1
                latency_ms += rule.latency_fixed_ms
                if rule.latency_random_ms:
                    latency_ms += self.latency_rng.uniform(0, rule.latency_random_ms)
                if plan.fault is None and rule.can_inject():
                    plan.fault = self._draw_fault(rule)
                    if plan.fault is not None:
                        plan.hang_seconds = rule.hang_seconds
                        rule.injected += 1
                        counters.faults[plan.fault] += 1
            plan.latency_seconds = latency_ms / 1000
            return plan

    def _draw_fault(self, rule: FaultRule) -> str | None:
        draw = self.fault_rng.random()
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += rule.probabilities.get(kind, 0.0)
            if draw < cumulative:
                return kind
        return None

    def enter_flight(self, consumer_key: str) -> bool:
        """Take a concurrency slot for ``consumer_key``; False (and no slot) when over the cap."""
        with self.lock:
            if self.in_flight[consumer_key] >= self.settings.bricklink_max_in_flight:
                self.counters.refused["bricklink_in_flight_503"] += 1
                return False
            self.in_flight[consumer_key] += 1
            return True

    def leave_flight(self, consumer_key: str) -> None:
        with self.lock:
            self.in_flight[consumer_key] -= 1
            if self.in_flight[consumer_key] <= 0:
                del self.in_flight[consumer_key]

    def refuse(self, reason: str) -> None:
        with self.lock:
            self.counters.refused[reason] += 1

    def record(
        self,
        *,
        provider: str,
        account: str,
        op: str,
        lot_id: int | str,
        fields: dict,
        before: int,
        after: int,
    ) -> None:
        """Append an applied mutation to the ledger. Caller holds the lock."""
        self.ledger.append(
            {
                "seq": len(self.ledger) + 1,
                "provider": provider,
                "account": account,
                "op": op,
                "lot_id": lot_id,
                "fields": fields,
                "quantity_before": before,
                "quantity_after": after,
                "at": iso_now(),
            }
        )

    def new_inventory_id(self) -> int:
        """Caller holds the lock. Ids are unique across stores, like BrickLink's."""
        self.next_inventory_id += 1
        return self.next_inventory_id - 1

    def new_brickowl_lot_id(self) -> str:
        """Caller holds the lock."""
        self.next_brickowl_lot_id += 1
        return str(self.next_brickowl_lot_id - 1)

    # --- reports -----------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The settings as ``/_control`` answers them. Caller holds the lock."""
        settings = self.settings
        return {
            "seed": settings.seed,
            "fault_seed": settings.fault_seed,
            "latency": {
                "fixed_ms": settings.latency_fixed_ms,
                "random_ms": settings.latency_random_ms,
            },
            "faults": [rule.as_json() for rule in settings.faults],
            "bricklink_quota": settings.bricklink_quota,
            "bricklink_max_in_flight": settings.bricklink_max_in_flight,
            "bricklink_error_http_status": settings.bricklink_error_http_status,
            "brickowl_rate_per_minute": settings.brickowl_rate_per_minute,
            "bricklink_accounts": sorted(self.bricklink_accounts),
            "brickowl_accounts": sorted(self.brickowl_accounts),
        }

    def calls(self) -> dict[str, Any]:
        with self.lock:
            counters = self.counters
            return {
                "total": counters.total,
                "by_endpoint": dict(counters.by_endpoint),
                "by_resource": dict(counters.by_resource),
                "by_account": dict(counters.by_account),
                "faults": dict(counters.faults),
                "refused": dict(counters.refused),
                "quota_used": {
                    key: account.quota_used
                    for key, account in self.bricklink_accounts.items()
                    if account.quota_day == int(time.time() // DAY_SECONDS)
                },
            }
