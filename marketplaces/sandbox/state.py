"""Everything the sandbox remembers: settings, stores, counters, fault rules, the ledger, the
order pushes' targets and log.

The stores themselves are in ``accounts``, the fault rules in ``faults``. One
:class:`SandboxState` per process, shared by the server's threads. Every read-modify-write
happens under ``state.lock``; nobody sleeps while holding it (latency and hangs are slept by
the request thread after it has let go).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from marketplaces.sandbox.accounts import (
    BRICKLINK,
    BRICKOWL,
    DAY_SECONDS,
    DEFAULT_BRICKLINK_CREDENTIALS,
    DEFAULT_BRICKOWL_KEY,
    BrickLinkAccount,
    BrickOwlAccount,
)
from marketplaces.sandbox.catalog import Catalog, build_catalog
from marketplaces.sandbox.errors import ControlError, ControlNotFound
from marketplaces.sandbox.faults import FAULT_KINDS, CallPlan, FaultRule

ERROR_MODES = ("200", "real")
BATCH_ANSWERS = ("responses", "list")


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
    # bulk/batch calls have their own, lower limit (100 in the current docs, 200 in older copies)
    brickowl_batch_rate_per_minute: int = 100
    # how a bulk/batch answer is shaped (undocumented): "responses" or "list"
    brickowl_batch_answer: str = "responses"
    latency_fixed_ms: int = 0
    latency_random_ms: int = 0
    faults: list[FaultRule] = field(default_factory=list)
    push_enabled: bool = True  # order pushes to the accounts' push URLs
    push_drop_rate: float = 0.0  # the share of pushes silently lost (delivery is not promised)

    def copy(self) -> Settings:
        """A copy whose fault rules have fresh injection counters."""
        return replace(self, faults=[replace(rule, matched=0, injected=0) for rule in self.faults])


@dataclass(slots=True)
class Counters:
    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_resource: Counter[str] = field(default_factory=Counter)
    by_account: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    # The requests inside BrickOwl bulk/batch calls, by endpoint (not in ``total``: each
    # batch is one call there).
    batched: Counter[str] = field(default_factory=Counter)


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
        # Order ids are never reused, not even across resets: a test's database may still
        # hold the orders of the test before.
        self.order_numbers = {
            "bricklink": 27_000_001,
            "brickowl": 3_500_001,
            "brickowl_item": 430_001,
        }
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
        self.push_urls: dict[str, str] = {}  # account key -> where its order pushes go
        self.pushes: deque[dict] = deque(maxlen=1000)  # the latest pushes and their outcome

    def _reseed(self) -> None:
        # Seeded on purpose: the same seed and call sequence replay the same faults.
        settings = self.settings
        faults = settings.seed if settings.fault_seed is None else settings.fault_seed
        self.fault_rng = random.Random(f"faults:{faults}")  # noqa: S311
        self.latency_rng = random.Random(f"latency:{settings.seed}")  # noqa: S311
        self.push_rng = random.Random(f"pushes:{faults}")  # noqa: S311

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

    def store(self, provider: Any, account: Any) -> BrickLinkAccount | BrickOwlAccount:
        """The store of ``account`` on ``provider``, or why not. Caller holds the lock."""
        stores = {BRICKLINK: self.bricklink_accounts, BRICKOWL: self.brickowl_accounts}
        if provider not in stores:
            raise ControlError("provider must be bricklink or brickowl")
        store = stores[provider].get(account)
        if store is None:
            raise ControlNotFound(f"no {provider} account {account!r}")
        return store

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

    def new_order_number(self, kind: str) -> int:
        """The next ``bricklink`` or ``brickowl`` order id (or ``brickowl_item`` id), never
        used before in this process. Caller holds the lock."""
        self.order_numbers[kind] += 1
        return self.order_numbers[kind] - 1

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
            "brickowl_batch_rate_per_minute": settings.brickowl_batch_rate_per_minute,
            "brickowl_batch_answer": settings.brickowl_batch_answer,
            "bricklink_accounts": sorted(self.bricklink_accounts),
            "brickowl_accounts": sorted(self.brickowl_accounts),
            "push_enabled": settings.push_enabled,
            "push_drop_rate": settings.push_drop_rate,
            "push_urls": dict(sorted(self.push_urls.items())),
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
                "batched": dict(counters.batched),
                "quota_used": {
                    key: account.quota_used
                    for key, account in self.bricklink_accounts.items()
                    if account.quota_day == int(time.time() // DAY_SECONDS)
                },
            }
