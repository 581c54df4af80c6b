"""Making a marketplace lot match the item as it is now.

The sync is **state-based**: it never replays "what changed", it loads the item, compares it
with what the marketplace was last *confirmed* to hold, and sends the difference. Duplicated,
reordered or retried deliveries therefore converge to the same lot.

Why this is careful (``docs/marketplaces.md``): a BrickLink PUT's quantity is a **delta**, so
replaying one doubles stock, and BrickLink has no external id, so a create cannot be made
idempotent by the marketplace. Hence:

* before every mutation the state is marked **in doubt** (written first, fenced by the claim);
  a definite answer clears it, an ambiguous failure (timeout, 5xx, broken reply) leaves it,
  and the next run **re-reads** the lot (or finds it by our marker in ``remarks``) and
  recomputes — it never replays;
* two syncs of one item and marketplace never run at once: a claim token with a lease on the
  sync state, taken by one conditional UPDATE;
* every call first takes the account's rate limit and, for BrickLink, one of 4 seats for calls
  in flight; a denial waits (rescheduled, never slept) and is not a failure.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction

from core import clock
from core.metrics import record_backoff
from marketplaces.bricklink import BrickLinkClient, Credentials, Lot, NewLot
from marketplaces.brickowl import BrickOwlClient, OwlLot
from marketplaces.errors import MarketplaceError, NotFound, RateLimited
from ratelimit.services import rate_limit_exhaust_until, rate_limit_take
from ratelimit.slots import slot_acquire, slot_release

from .models import (
    BrickOwlPart,
    InventoryItem,
    MarketplaceConnection,
    Provider,
    SyncState,
    SyncStatus,
)

logger = logging.getLogger(__name__)

MARKER = re.compile(r"\[brickops:(\d+)\]")
OWL_EXTERNAL = re.compile(r"^brickops-(\d+)$")
LIMITS = {Provider.BRICKLINK: "bricklink:account", Provider.BRICKOWL: "brickowl:account"}
CONDITION_BL = {"new": "N", "used": "U"}


def marker(item_id: int) -> str:
    return f"[brickops:{item_id}]"


def bricklink_remarks(item: InventoryItem) -> str:
    """BrickLink's private remarks: the seller's location, then our marker."""
    return f"{item.location} {marker(item.id)}".strip()[:255]


def marker_item_id(remarks: str) -> int | None:
    found = MARKER.search(remarks or "")
    return int(found.group(1)) if found else None


def owl_external_id(item_id: int) -> str:
    return f"brickops-{item_id}"


def owl_item_id(external_id: str | None) -> int | None:
    found = OWL_EXTERNAL.match(external_id or "")
    return int(found.group(1)) if found else None


def owl_condition(condition: str) -> str:
    return "new" if condition == "new" else settings.INVENTORY_BRICKOWL_USED_CONDITION


class Deferred(Exception):
    """Not now (rate limit, seats, vendor 429): try again after ``wait`` seconds."""

    def __init__(self, wait: float, reason: str) -> None:
        super().__init__(reason)
        self.wait = wait
        self.reason = reason


class Unmappable(Exception):
    """The item cannot exist on this marketplace (no BrickOwl id for the part or color)."""


class LostClaim(Exception):
    """Another run took this sync over (our lease expired): stop without writing."""


class _Again(Exception):
    """The lot vanished under us: start over from the item."""


@dataclass
class Claim:
    state_id: int
    token: uuid.UUID
    item_id: int
    provider: str
    attempts: int


@dataclass(frozen=True)
class SyncOutcome:
    outcome: str  # synced | deferred | retrying | failed | busy | not_due | disabled | lost_claim
    detail: str = ""
    calls: int = 0


# --- claim and fenced writes ---------------------------------------------------------------------


def _db(field: str, value: Any) -> Any:
    return SyncState._meta.get_field(field).get_db_prep_value(value, connection)


def claim_sync(
    state_id: int, now: datetime, *, lease: float | None = None, due_only: bool = True
) -> Claim | None:
    """One conditional UPDATE: only one run holds a state at a time."""
    token = uuid.uuid4()
    seconds = lease if lease is not None else settings.INVENTORY_SYNC_LEASE_SECONDS
    table = SyncState._meta.db_table
    due = " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)" if due_only else ""
    params = [
        _db("claim_token", token), _db("lease_expires_at", now + timedelta(seconds=seconds)),
        state_id, _db("lease_expires_at", now),
    ]  # fmt: skip
    if due_only:
        params.append(_db("next_attempt_at", now))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claim_token = %s, lease_expires_at = %s "  # noqa: S608
            f"WHERE id = %s AND (claim_token IS NULL OR lease_expires_at < %s){due} "
            "RETURNING item_id, provider, attempts",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Claim(state_id, token, row[0], row[1], row[2])


def _save(claim: Claim, **fields: Any) -> None:
    updated = SyncState.objects.filter(pk=claim.state_id, claim_token=claim.token).update(
        updated_at=clock.now(), **fields
    )
    if not updated:
        raise LostClaim


def release_claim(claim: Claim, **fields: Any) -> bool:
    return bool(
        SyncState.objects.filter(pk=claim.state_id, claim_token=claim.token).update(
            claim_token=None, lease_expires_at=None, updated_at=clock.now(), **fields
        )
    )


# --- calls ---------------------------------------------------------------------------------------


class Gate:
    """Every call of one run goes through here: the account's rate limit, a BrickLink seat,
    a count of the calls made."""

    def __init__(self, provider: str, account_id: int) -> None:
        self.provider = provider
        self.key = str(account_id)
        self.calls = 0

    @contextmanager
    def call(self):
        decision = rate_limit_take(names=[(LIMITS[self.provider], self.key)])
        if not decision.granted:
            raise Deferred(decision.retry_after, f"rate limit {decision.limit}")
        seat = None
        if self.provider == Provider.BRICKLINK:
            seat = slot_acquire(
                name="bricklink:in-flight", key=self.key,
                size=settings.INVENTORY_BRICKLINK_MAX_IN_FLIGHT,
                lease_seconds=settings.INVENTORY_SLOT_LEASE_SECONDS,
            )  # fmt: skip
            if seat is None:
                # A seat frees as soon as a call returns: look again shortly.
                raise Deferred(0.1 + 0.2 * random.random(), "calls in flight")  # noqa: S311
        self.calls += 1
        try:
            yield
        except RateLimited as exc:
            # The marketplace said stop: stop every worker of this account, not just this one.
            rate_limit_exhaust_until(
                name=LIMITS[self.provider], key=self.key, retry_after=exc.retry_after
            )
            raise Deferred(exc.retry_after, f"{self.provider} 429") from None
        finally:
            if seat is not None:
                slot_release(token=seat)


@contextmanager
def _mutation(claim: Claim):
    """Mark the state in doubt before a call that changes the lot; clear it only when the
    answer is definite (success, or a failure that cannot have applied anything)."""
    _save(claim, in_doubt=True)
    try:
        yield
    except MarketplaceError as exc:
        if not exc.ambiguous:
            _save(claim, in_doubt=False)
        raise
    except Deferred:
        _save(claim, in_doubt=False)  # refused before calling
        raise


# --- BrickLink -----------------------------------------------------------------------------------


def _bl_confirmed(lot: Lot) -> dict[str, Any]:
    return {
        "item_no": lot.item_no, "color_id": lot.color_id, "new_or_used": lot.new_or_used,
        "quantity": lot.quantity, "unit_price": str(lot.unit_price),
        "description": lot.description, "remarks": lot.remarks,
    }  # fmt: skip


def _bricklink(
    client: BrickLinkClient, item: InventoryItem, state: SyncState, claim: Claim, gate: Gate
) -> None:
    lot_id, confirmed = state.lot_id, state.confirmed
    if state.in_doubt:
        lots: list[Lot] = []
        with gate.call():
            if lot_id:
                try:
                    lot = client.inventory_get(int(lot_id))
                    confirmed = _bl_confirmed(lot)
                except NotFound:
                    lot_id, confirmed = "", None
            else:
                lots = client.inventory_list()
        if not lot_id:
            mine = [lot for lot in lots if marker_item_id(lot.remarks) == item.id]
            confirmed = None
            if mine:
                lot_id, confirmed = str(mine[0].inventory_id), _bl_confirmed(mine[0])
            for extra in mine[1:]:  # a create that landed twice: keep one
                with gate.call():
                    _bl_delete(client, extra.inventory_id)
        _save(claim, lot_id=lot_id, confirmed=confirmed, in_doubt=False)

    wanted = item.listed_quantity
    same_identity = confirmed and (
        confirmed["item_no"] == item.part_number
        and confirmed["color_id"] == item.color_id
        and confirmed["new_or_used"] == CONDITION_BL[item.condition]
    )
    if lot_id and (wanted <= 0 or not same_identity):
        # Gone from sale, or part/color/condition changed (a PUT cannot): remove the lot.
        with _mutation(claim), gate.call():
            _bl_delete(client, int(lot_id))
        lot_id, confirmed = "", None
        _save(claim, lot_id="", confirmed=None, in_doubt=False)
    if wanted <= 0:
        return
    if not lot_id:
        new = NewLot(
            item_no=item.part_number, color_id=item.color_id, quantity=wanted,
            new_or_used=CONDITION_BL[item.condition], unit_price=item.price,
            description=item.notes, remarks=bricklink_remarks(item),
        )  # fmt: skip
        with _mutation(claim), gate.call():
            lot = client.inventory_create(new)
        _save(claim, lot_id=str(lot.inventory_id), confirmed=_bl_confirmed(lot), in_doubt=False)
        return
    delta = wanted - confirmed["quantity"]
    price = None if Decimal(confirmed["unit_price"]) == item.price else item.price
    remarks = bricklink_remarks(item)
    remarks_change = None if confirmed["remarks"] == remarks else remarks
    if (
        not delta
        and price is None
        and remarks_change is None
        and (confirmed["description"] == item.notes)
    ):
        return
    with _mutation(claim), gate.call():
        try:
            lot = client.inventory_update(
                int(lot_id), description=item.notes, quantity_delta=delta, unit_price=price,
                remarks=remarks_change,
            )  # fmt: skip
        except NotFound:
            _save(claim, lot_id="", confirmed=None, in_doubt=False)
            raise _Again from None
    _save(claim, confirmed=_bl_confirmed(lot), in_doubt=False)


def _bl_delete(client: BrickLinkClient, inventory_id: int) -> None:
    with suppress(NotFound):  # already gone: that is what we wanted
        client.inventory_delete(inventory_id)


# --- BrickOwl ------------------------------------------------------------------------------------


def _owl_confirmed(lot: OwlLot) -> dict[str, Any]:
    return {
        "boid": lot.boid, "color_id": lot.color_id, "condition": lot.condition,
        "quantity": lot.quantity, "price": str(lot.price), "public_note": lot.public_note,
        "personal_note": lot.personal_note,
    }  # fmt: skip


def brickowl_boid(client: BrickOwlClient, part_number: str, gate: Gate) -> str:
    """The part's BrickOwl id, looked up once and kept (unmapped parts too)."""
    known = BrickOwlPart.objects.filter(part_number=part_number).first()
    if known is None:
        try:
            with gate.call():
                boids = client.id_lookup(part_number)
        except NotFound:
            boids = []
        known, _ = BrickOwlPart.objects.update_or_create(
            part_number=part_number,
            defaults={"boid": boids[0] if boids else "", "looked_up_at": clock.now()},
        )
    if not known.boid:
        raise Unmappable(f"BrickOwl has no part for BrickLink number {part_number}")
    return known.boid


def brickowl_color(client: BrickOwlClient, color_id: int, gate: Gate) -> int:
    """BrickOwl's color for a BrickLink color id, from ``color_list``'s ``bl_ids`` (cached)."""
    cache = caches["default"]
    mapping = cache.get("brickowl:color-map")
    if mapping is None:
        with gate.call():
            colors = client.color_list()
        mapping = {bl_id: color.id for color in colors for bl_id in color.bl_ids}
        cache.set("brickowl:color-map", mapping, settings.INVENTORY_BRICKOWL_COLOR_CACHE_SECONDS)
    if color_id not in mapping:
        raise Unmappable(f"BrickOwl has no color for BrickLink color {color_id}")
    return mapping[color_id]


def _brickowl(
    client: BrickOwlClient, item: InventoryItem, state: SyncState, claim: Claim, gate: Gate
) -> None:
    lot_id, confirmed = state.lot_id, state.confirmed
    external_id = owl_external_id(item.id)
    if state.in_doubt or not lot_id:
        # Creates are made idempotent by looking for our external id first.
        with gate.call():
            mine = client.inventory_list(external_id=external_id)
        keep = next((lot for lot in mine if lot.lot_id == lot_id), mine[0] if mine else None)
        for extra in mine:
            if extra is not keep:
                with gate.call():
                    _owl_delete(client, extra.lot_id)
        lot_id, confirmed = (keep.lot_id, _owl_confirmed(keep)) if keep else ("", None)
        _save(claim, lot_id=lot_id, confirmed=confirmed, in_doubt=False)

    wanted = item.listed_quantity
    if wanted <= 0:
        if lot_id:
            with _mutation(claim), gate.call():
                _owl_delete(client, lot_id)
            _save(claim, lot_id="", confirmed=None, in_doubt=False)
        return
    boid = brickowl_boid(client, item.part_number, gate)
    color = brickowl_color(client, item.color_id, gate)
    condition = owl_condition(item.condition)
    if lot_id and (confirmed["boid"] != boid or confirmed["color_id"] != color
                   or confirmed["condition"] != condition):  # fmt: skip
        with _mutation(claim), gate.call():
            _owl_delete(client, lot_id)
        lot_id, confirmed = "", None
        _save(claim, lot_id="", confirmed=None, in_doubt=False)
    desired = {
        "boid": boid, "color_id": color, "condition": condition, "quantity": wanted,
        "price": str(item.price.quantize(Decimal("0.001"))), "public_note": item.notes,
        "personal_note": item.location,
    }  # fmt: skip
    if not lot_id:
        with _mutation(claim), gate.call():
            new_lot = client.inventory_create(
                boid=boid, color_id=color, quantity=wanted, price=item.price,
                condition=condition, external_id=external_id, public_note=item.notes,
                personal_note=item.location,
            )  # fmt: skip
        _save(claim, lot_id=new_lot, confirmed=desired, in_doubt=False)
        return
    if confirmed == desired:
        return
    with _mutation(claim), gate.call():
        try:
            client.inventory_update(
                lot_id=lot_id, absolute_quantity=wanted, price=item.price,
                public_note=item.notes, personal_note=item.location,
            )  # fmt: skip
        except NotFound:
            _save(claim, lot_id="", confirmed=None, in_doubt=False)
            raise _Again from None
    _save(claim, confirmed=desired, in_doubt=False)


def _owl_delete(client: BrickOwlClient, lot_id: str) -> None:
    with suppress(NotFound):
        client.inventory_delete(lot_id=lot_id)


# --- one run -------------------------------------------------------------------------------------


def client_for(conn: MarketplaceConnection) -> BrickLinkClient | BrickOwlClient:
    if conn.provider == Provider.BRICKLINK:
        return BrickLinkClient(Credentials(**conn.credentials))
    return BrickOwlClient(conn.credentials["api_key"])


def _error(code: str, message: str, now: datetime, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "at": now.isoformat().replace("+00:00", "Z"),
            **extra}  # fmt: skip


def _retry_delay(attempts: int) -> float:
    wait = min(
        settings.INVENTORY_SYNC_RETRY_BASE_SECONDS * 2 ** (attempts - 1),
        settings.INVENTORY_SYNC_RETRY_CAP_SECONDS,
    )
    return wait + random.uniform(0, settings.INVENTORY_SYNC_RETRY_JITTER_SECONDS)  # noqa: S311


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
    now = clock.now()
    claim = claim_sync(state_id, now)
    if claim is None:
        return SyncOutcome("busy")
    gate: Gate | None = None
    try:
        for _ in range(3):
            state = SyncState.objects.get(pk=state_id)
            if state.status in (SyncStatus.SYNCED, SyncStatus.DISABLED, SyncStatus.FAILED):
                release_claim(claim)
                return SyncOutcome("not_due")
            item = InventoryItem.objects.get(pk=item_id)
            conn = MarketplaceConnection.objects.filter(
                account_id=item.account_id, provider=provider
            ).first()
            if conn is None or not conn.enabled or not conn.configured:
                release_claim(claim, status=SyncStatus.DISABLED, next_attempt_at=None)
                return SyncOutcome("disabled")
            if settings.DISABLE_EXTERNAL_CALLS:
                logger.info(
                    "DISABLE_EXTERNAL_CALLS is set: item #%s marked synced on %s without "
                    "calling it", item_id, provider, extra={"item_id": item_id},
                )  # fmt: skip
                if _done(claim, item.version):
                    return SyncOutcome("synced", "external calls disabled")
                continue
            gate = Gate(provider, item.account_id)
            client = client_for(conn)
            try:
                if provider == Provider.BRICKLINK:
                    _bricklink(client, item, state, claim, gate)
                else:
                    _brickowl(client, item, state, claim, gate)
            except _Again:
                continue
            if _done(claim, item.version):
                return SyncOutcome("synced", calls=gate.calls)
            # The item changed while we worked: converge again on what it is now.
        _reschedule(claim, 0.0, "the item kept changing")
        return SyncOutcome("deferred", "item kept changing", gate.calls if gate else 0)
    except LostClaim:
        logger.warning("sync of #%s on %s lost its claim", item_id, provider)
        return SyncOutcome("lost_claim")
    except Deferred as wait:
        _reschedule(claim, wait.wait, wait.reason)
        return SyncOutcome("deferred", wait.reason, gate.calls if gate else 0)
    except Unmappable as exc:
        _fail(claim, _error("unmappable", str(exc), clock.now(), provider=provider))
        return SyncOutcome("failed", str(exc), gate.calls if gate else 0)
    except MarketplaceError as exc:
        return _failed_call(claim, exc, gate.calls if gate else 0)


def _done(claim: Claim, version: int) -> bool:
    """Mark synced at ``version`` — only if the item is still at that version. The state row
    is locked first and the version read after: a change either committed before (we see it
    and answer False: converge again) or writes its ``syncing`` after ours."""
    with transaction.atomic():
        held = SyncState.objects.select_for_update().filter(
            pk=claim.state_id, claim_token=claim.token
        )
        if not held.exists():
            raise LostClaim
        current = InventoryItem.objects.values_list("version", flat=True).get(pk=claim.item_id)
        if current != version:
            return False
        release_claim(
            claim, status=SyncStatus.SYNCED, synced_version=version, synced_at=clock.now(),
            last_error=None, attempts=0, next_attempt_at=None,
        )  # fmt: skip
    return True


def _fail(claim: Claim, error: dict[str, Any], **fields: Any) -> None:
    release_claim(claim, status=SyncStatus.FAILED, last_error=error, next_attempt_at=None, **fields)
    logger.warning(
        "sync of #%s on %s failed: %s", claim.item_id, claim.provider, error["message"],
        extra={"item_id": claim.item_id, "provider": claim.provider},
    )  # fmt: skip


def _reschedule(claim: Claim, wait: float, reason: str) -> None:
    from .tasks import publish_sync

    delay = wait + random.uniform(0, min(1.0, max(0.1, wait * 0.2)))  # noqa: S311
    at = clock.now() + timedelta(seconds=delay)
    # A short wait is a delayed task (and the sweeper leaves it alone); a long one is the
    # sweeper's to send when it is due.
    soon = delay <= settings.INVENTORY_REQUEUE_MAX_DELAY_SECONDS
    if release_claim(claim, status=SyncStatus.SYNCING, next_attempt_at=at,
                     dispatched_at=at if soon else None):  # fmt: skip
        record_backoff(source="inventory_sync", reason="deferred")
        if soon:
            transaction.on_commit(lambda: publish_sync(claim.item_id, claim.provider, delay))
        logger.info("sync of #%s on %s waits %.1fs: %s", claim.item_id, claim.provider,
                    delay, reason)  # fmt: skip


def _failed_call(claim: Claim, exc: MarketplaceError, calls: int) -> SyncOutcome:
    now = clock.now()
    error = _error(exc.code, exc.message, now, provider=exc.provider,
                   http_status=exc.http_status, meta_code=exc.meta_code)  # fmt: skip
    if exc.retryable:
        attempts = claim.attempts + 1
        if attempts < settings.INVENTORY_SYNC_MAX_ATTEMPTS:
            from .tasks import publish_sync

            delay = _retry_delay(attempts)
            at = now + timedelta(seconds=delay)
            soon = delay <= settings.INVENTORY_REQUEUE_MAX_DELAY_SECONDS
            released = release_claim(
                claim, status=SyncStatus.SYNCING, attempts=attempts, last_error=error,
                next_attempt_at=at, dispatched_at=at if soon else None,
            )  # fmt: skip
            if released:
                record_backoff(source="inventory_sync", reason="retry")
            if released and soon:
                transaction.on_commit(lambda: publish_sync(claim.item_id, claim.provider, delay))
            return SyncOutcome("retrying", str(exc), calls)
        _fail(claim, error, attempts=attempts)
        return SyncOutcome("failed", str(exc), calls)
    _fail(claim, error)
    return SyncOutcome("failed", str(exc), calls)
