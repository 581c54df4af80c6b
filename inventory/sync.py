"""Making a marketplace lot match the item as it is now: one run of one sync.

The sync is **state-based**: it never replays "what changed"; it loads the item, compares it
with what the marketplace last *confirmed*, and sends the difference (inventory/lots/), so
duplicated, reordered or retried deliveries converge to the same lot.

* Two runs of one item and marketplace never overlap: a claim with a lease on the sync state
  (outbox/claims.py), renewed by the worker's heartbeat while the run lasts.
* A step pays for all its calls before the first (the account's limit, one take; a
  reservation when there is no room, so an account's syncs queue in order) and, for
  BrickLink, holds one of 4 seats per call in flight. A wait is rescheduled, never slept,
  costs no call, and keeps its tokens and what it learnt; it is not a failure.
* Failures back off by the inventory_sync policy (outbox/policy.py) or fail at once (400, 401,
  403, 422, unmappable); a 429 stops the whole account until the marketplace's time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from core import clock
from marketplaces.bricklink import BrickLinkClient, Credentials
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import MarketplaceError
from outbox.claims import (
    Claim,
    claim,
    error_record,
    finish,
    give_up,
    held,
    put_back,
    retry_or_give_up,
)
from outbox.leases import lease_held
from ratelimit.budget import MustWait

from .lots import bricklink, brickowl
from .lots.base import (
    Gate,
    LostClaim,
    LotVanished,
    Step,
    Unmappable,
    call_error,
    synced_fields,
)
from .models import InventoryItem, MarketplaceConnection, Provider, SyncState, SyncStatus
from .work import SYNCS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOutcome:
    """What one run did, why, and how many marketplace calls it made."""

    outcome: str  # synced | deferred | retrying | failed | busy | not_due | disabled | lost_claim
    detail: str = ""
    calls: int = 0


def client_for(conn: MarketplaceConnection) -> BrickLinkClient | BrickOwlClient:
    if conn.provider == Provider.BRICKLINK:
        return BrickLinkClient(Credentials(**conn.credentials))
    return BrickOwlClient(conn.credentials["api_key"])


def claim_sync(state_id: int, *, lease: float | None = None, due_only: bool = True) -> Claim | None:
    """Hold a sync state (only one run at a time), with the calls it has reserved."""
    return claim(
        SYNCS,
        state_id,
        now=clock.now(),
        read=("calls_reserved", "calls_usable_at"),
        due_only=due_only,
        lease_seconds=lease,
    )


def sync_run(*, item_id: int, provider: str) -> SyncOutcome:
    """Converge one item on one marketplace. Idempotent; safe to deliver twice, late or out of
    order. Answers what happened; reschedules itself when it has to wait."""
    state_id = (
        SyncState.objects.filter(item_id=item_id, provider=provider)
        .values_list("id", flat=True)
        .first()
    )
    if state_id is None:
        return SyncOutcome("not_due")
    won = claim_sync(state_id)
    if won is None:
        return SyncOutcome("busy")
    if won.row["calls_reserved"]:
        # The run holds them now; one that dies forfeits them, so no call is ever unpaid.
        Step(won).save(calls_reserved=0, calls_usable_at=None)
    with lease_held(model=SyncState, token=won.token, seconds=SYNCS.policy.lease_seconds):
        return _run(won)


def _run(won: Claim) -> SyncOutcome:
    item_id, provider = won.row["item_id"], won.row["provider"]
    step = Step(won)
    gate: Gate | None = None
    try:
        for _ in range(3):
            state = SyncState.objects.get(pk=won.pk)
            if state.status in (SyncStatus.SYNCED, SyncStatus.DISABLED, SyncStatus.FAILED):
                finish(won, **_unspent(won, gate))
                return SyncOutcome("not_due")
            item = InventoryItem.objects.get(pk=item_id)
            conn = MarketplaceConnection.objects.filter(
                account_id=item.account_id, provider=provider
            ).first()
            if conn is None or not conn.enabled or not conn.configured:
                finish(won, status=SyncStatus.DISABLED, next_attempt_at=None)
                return SyncOutcome("disabled")
            if settings.DISABLE_EXTERNAL_CALLS:
                logger.info(
                    "DISABLE_EXTERNAL_CALLS is set: item #%s marked synced on %s without "
                    "calling it",
                    item_id,
                    provider,
                    extra={"item_id": item_id},
                )
                if _done(won, item.version):
                    return SyncOutcome("synced", "external calls disabled")
                continue
            gate = gate or Gate(
                provider,
                item.account_id,
                held_calls=won.row["calls_reserved"],
                usable_at=won.row["calls_usable_at"],
            )
            client = client_for(conn)
            try:
                if provider == Provider.BRICKLINK:
                    bricklink.converge(client, item, state, step, gate)
                else:
                    catalog = brickowl.Catalog.for_seller(client, gate)
                    brickowl.converge(client, item, state, step, gate, catalog)
            except LotVanished:
                continue
            if _done(won, item.version):
                return SyncOutcome("synced", calls=gate.calls)
            # The item changed while we worked: converge again on what it is now.
        _wait(won, gate, 0.0, "the item kept changing")
        return SyncOutcome("deferred", "item kept changing", gate.calls if gate else 0)
    except LostClaim:
        logger.warning("sync of #%s on %s lost its claim", item_id, provider)
        return SyncOutcome("lost_claim")
    except MustWait as wait:
        _wait(won, gate, wait.wait, wait.reason)
        return SyncOutcome("deferred", wait.reason, gate.calls if gate else 0)
    except Unmappable as exc:
        _fail(won, error_record("unmappable", str(exc), at=clock.now(), provider=provider))
        return SyncOutcome("failed", str(exc), gate.calls if gate else 0)
    except MarketplaceError as exc:
        return _failed_call(won, gate, exc)


def _unspent(won: Claim, gate: Gate | None) -> dict[str, Any]:
    """The calls this run holds and has not spent, to go back on the row: the next run of
    this sync spends them instead of taking new ones."""
    if gate is None:
        return {
            "calls_reserved": won.row["calls_reserved"],
            "calls_usable_at": won.row["calls_usable_at"],
        }
    return {"calls_reserved": gate.budget.held, "calls_usable_at": gate.budget.usable_at}


def _done(won: Claim, version: int) -> bool:
    """Mark synced at ``version`` -- only if the item is still at that version. The state row
    is locked first and the version read after: a change either committed before (we see it
    and answer False: converge again) or writes its ``syncing`` after ours."""
    with transaction.atomic():
        if not held(won).select_for_update().exists():
            raise LostClaim
        current = InventoryItem.objects.values_list("version", flat=True).get(pk=won.row["item_id"])
        if current != version:
            return False
        now = clock.now()
        finish(won, **synced_fields(version, now), updated_at=now)
    return True


def _fail(won: Claim, error: dict[str, Any], **fields: Any) -> None:
    give_up(won, error, now=clock.now(), **fields)
    logger.warning(
        "sync of #%s on %s failed: %s",
        won.row["item_id"],
        won.row["provider"],
        error["message"],
        extra={"item_id": won.row["item_id"], "provider": won.row["provider"]},
    )


def _wait(won: Claim, gate: Gate | None, wait: float, reason: str) -> None:
    """Not an attempt: back when the limiter, the seats or the marketplace say, keeping the
    tokens this run paid for."""
    delay = put_back(won, wait=wait, now=clock.now(), retry=False, **_unspent(won, gate))
    if delay >= 0:
        logger.info(
            "sync of #%s on %s waits %.1fs: %s",
            won.row["item_id"],
            won.row["provider"],
            delay,
            reason,
        )


def _failed_call(won: Claim, gate: Gate | None, exc: MarketplaceError) -> SyncOutcome:
    now = clock.now()
    calls = gate.calls if gate else 0
    error = call_error(exc, now)
    if not exc.retryable:
        _fail(won, error)
        return SyncOutcome("failed", str(exc), calls)
    outcome, _ = retry_or_give_up(won, error, now=now, **_unspent(won, gate))
    if outcome == "failed":
        logger.warning("sync of #%s on %s failed: %s", won.row["item_id"], won.row["provider"], exc)
    return SyncOutcome(outcome, str(exc), calls)
