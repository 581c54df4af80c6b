"""What the two marketplaces' lot modules share: the gate every call goes through, and the
step's fenced writes (a run writes only while its claim holds the sync state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core import clock
from marketplaces.errors import MarketplaceError, RateLimited
from outbox.claims import Claim, error_record, held
from ratelimit.budget import CallBudget, MustWait, Seats
from ratelimit.services import rate_limit_exhaust_until

from ..models import Provider, SyncStatus

LIMITS = {Provider.BRICKLINK: "bricklink:account", Provider.BRICKOWL: "brickowl:account"}
# Reading orders has a share of its own, so a queue of syncs never holds a sale back.
ORDER_LIMITS = {Provider.BRICKLINK: "bricklink:orders", Provider.BRICKOWL: "brickowl:orders"}


def synced_fields(version: int, now) -> dict[str, Any]:
    """What a sync state holds once its lot is the item at ``version``."""
    return {
        "status": SyncStatus.SYNCED,
        "synced_version": version,
        "synced_at": now,
        "last_error": None,
        "attempts": 0,
        "next_attempt_at": None,
    }


def call_error(exc: MarketplaceError, at) -> dict[str, Any]:
    """The error record (outbox ``error_record``) of a failed marketplace call."""
    return error_record(
        exc.code,
        exc.message,
        at=at,
        provider=exc.provider,
        http_status=exc.http_status,
        meta_code=exc.meta_code,
    )


class Unmappable(Exception):
    """The item cannot exist on this marketplace (no BrickOwl id for the part or color)."""


class LostClaim(Exception):
    """Another run took this sync over (our lease expired): stop without writing."""


class LotVanished(Exception):
    """The lot was deleted under us: start over from the item."""


class Gate:
    """Every call of one run goes through here: the limit (paid for a whole step at a time,
    :mod:`ratelimit.budget`), a BrickLink seat, a count of the calls made, and a
    marketplace 429 turned into a stop for the whole account."""

    def __init__(
        self,
        provider: str,
        key: int | str,
        *,
        limit: str | None = None,
        held_calls: int = 0,
        usable_at=None,
        reserve_ahead: bool = True,
    ) -> None:
        self.provider = provider
        self.key = str(key)
        self.limit = limit or LIMITS[provider]
        seats = None
        if provider == Provider.BRICKLINK:
            seats = Seats(
                name="bricklink:in-flight",
                key=self.key,
                size=settings.INVENTORY_BRICKLINK_MAX_IN_FLIGHT,
                lease_seconds=settings.INVENTORY_SLOT_LEASE_SECONDS,
            )
        self.budget = CallBudget(
            limits=[(self.limit, self.key)],
            held=held_calls,
            usable_at=usable_at,
            seats=seats,
            reserve_ahead=reserve_ahead,
        )

    @property
    def calls(self) -> int:
        return self.budget.calls

    def reserve(self, count: int) -> None:
        """Pay for the step's next ``count`` calls before making the first."""
        self.budget.reserve(count)

    @contextmanager
    def call(self) -> Iterator[None]:
        with self.budget.call():
            try:
                yield
            except RateLimited as exc:
                # The marketplace said stop: stop every worker of this account, not just this.
                rate_limit_exhaust_until(name=self.limit, key=self.key, retry_after=exc.retry_after)
                raise MustWait(exc.retry_after, f"{self.provider} 429") from None


@dataclass(frozen=True)
class Step:
    """A sync run's writes to its state, fenced by its claim."""

    claim: Claim

    def save(self, **fields: Any) -> None:
        now = clock.now()
        if "confirmed" in fields:
            fields.setdefault("confirmed_at", now)  # what the marketplace said, and when
        if not held(self.claim).update(updated_at=now, **fields):
            raise LostClaim

    def keep_found(
        self,
        lot_id: str,
        confirmed: dict[str, Any] | None,
        extras: list[Any],
        *,
        gate: Gate,
        delete: Callable[[Any], None],
        calls_after: int,
    ) -> None:
        """A look-up found our lot (or none) and maybe ``extras``: duplicates of it (a create
        that landed twice). What it found is kept whatever comes next -- in doubt while
        duplicates are left, so a run that must wait before removing them looks again."""
        self.save(lot_id=lot_id, confirmed=confirmed, in_doubt=bool(extras), recheck=False)
        if extras:
            gate.reserve(len(extras) + calls_after)
            for extra in extras:
                with gate.call():
                    delete(extra)
            self.save(in_doubt=False)

    @contextmanager
    def mutation(self) -> Iterator[None]:
        """Mark the state in doubt before a call that changes the lot; clear it only when the
        answer is definite (success, or a failure that cannot have applied anything)."""
        self.save(in_doubt=True)
        try:
            yield
        except MarketplaceError as exc:
            if not exc.ambiguous:
                self.save(in_doubt=False)
            raise
        except MustWait:
            self.save(in_doubt=False)  # refused before calling
            raise
