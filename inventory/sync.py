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
* a step pays for all its calls before the first one (the account's rate limit, one take for
  the whole step; a reservation when the limit has no room, so an account's syncs queue in
  order instead of racing) and, for BrickLink, holds one of 4 seats per call in flight; a wait
  is rescheduled, never slept, costs no call, keeps its tokens and what the step learnt, and is
  not a failure;
* what a look-up learnt is kept: a BrickOwl part's BOID and the color map are cached, and a
  lot's absence is known from the state itself (every create is preceded by ``in_doubt``, so a
  state that is not in doubt and has no lot has none), so only an ambiguous failure costs a
  look-up.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Iterator
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
from outbox.leases import lease_held
from ratelimit.budget import CallBudget, MustWait, Seats
from ratelimit.services import rate_limit_exhaust_until

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
# Catalog look-ups (BOIDs, colors) with the platform's own BrickOwl key, when it has one.
BRICKOWL_CATALOG_LIMIT = "brickowl:platform"
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


Deferred = MustWait  # the name the rest of inventory has used for "not now"


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
    # Calls an earlier run of this sync paid for and did not spend, and when they may be
    # spent. The claim takes them off the row; whatever is left goes back when it waits.
    calls_reserved: int = 0
    calls_usable_at: datetime | None = None


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
    """One conditional UPDATE: only one run holds a state at a time. The claim takes the
    state's reserved calls with it."""
    token = uuid.uuid4()
    seconds = lease if lease is not None else settings.INVENTORY_SYNC_LEASE_SECONDS
    table = SyncState._meta.db_table
    due = " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)" if due_only else ""
    params = [
        _db("claim_token", token),
        _db("lease_expires_at", now + timedelta(seconds=seconds)),
        state_id,
        _db("lease_expires_at", now),
    ]
    if due_only:
        params.append(_db("next_attempt_at", now))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claim_token = %s, lease_expires_at = %s "  # noqa: S608
            f"WHERE id = %s AND (claim_token IS NULL OR lease_expires_at < %s){due} "
            "RETURNING item_id, provider, attempts, calls_reserved, calls_usable_at",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    usable_at = SyncState._meta.get_field("calls_usable_at").to_python(row[4])
    claim = Claim(state_id, token, row[0], row[1], row[2], row[3] or 0, usable_at)
    if claim.calls_reserved:
        # The run holds them now; one that dies forfeits them, so no call is ever unpaid.
        _save(claim, calls_reserved=0, calls_usable_at=None)
    return claim


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
    """Every call of one run goes through here: the account's rate limit (paid for a whole
    step at a time, see :mod:`ratelimit.budget`), a BrickLink seat, a count of the calls
    made, and a marketplace 429 turned into a stop for the whole account."""

    def __init__(
        self,
        provider: str,
        account_id: int | str,
        *,
        claim: Claim | None = None,
        limit: str | None = None,
    ) -> None:
        self.provider = provider
        self.key = str(account_id)
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
            held=claim.calls_reserved if claim else 0,
            usable_at=claim.calls_usable_at if claim else None,
            seats=seats,
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
    except MustWait:
        _save(claim, in_doubt=False)  # refused before calling
        raise


# --- BrickLink -----------------------------------------------------------------------------------


def _bl_confirmed(lot: Lot) -> dict[str, Any]:
    return {
        "item_no": lot.item_no,
        "color_id": lot.color_id,
        "new_or_used": lot.new_or_used,
        "quantity": lot.quantity,
        "unit_price": str(lot.unit_price),
        "description": lot.description,
        "remarks": lot.remarks,
    }


def _bl_same_identity(confirmed: dict[str, Any] | None, item: InventoryItem) -> bool:
    """A PUT cannot change a lot's part, color or condition."""
    return bool(confirmed) and (
        confirmed["item_no"] == item.part_number
        and confirmed["color_id"] == item.color_id
        and confirmed["new_or_used"] == CONDITION_BL[item.condition]
    )


@dataclass(frozen=True)
class _BrickLinkUpdate:
    quantity_delta: int
    unit_price: Decimal | None
    remarks: str | None


def _bl_update(item: InventoryItem, confirmed: dict[str, Any]) -> _BrickLinkUpdate | None:
    """What a PUT must send to make the confirmed lot the item; None when nothing differs."""
    delta = item.listed_quantity - confirmed["quantity"]
    price = None if Decimal(confirmed["unit_price"]) == item.price else item.price
    remarks = bricklink_remarks(item)
    remarks_change = None if confirmed["remarks"] == remarks else remarks
    same_notes = confirmed["description"] == item.notes
    if not delta and price is None and remarks_change is None and same_notes:
        return None
    return _BrickLinkUpdate(delta, price, remarks_change)


def _bl_calls(item: InventoryItem, lot_id: str, confirmed: dict[str, Any] | None) -> int:
    """The calls that make the lot the item: a delete, a create or a PUT (never more than 2)."""
    wanted, calls = item.listed_quantity, 0
    if lot_id and (wanted <= 0 or not _bl_same_identity(confirmed, item)):
        lot_id, calls = "", 1
    if wanted > 0 and (not lot_id or _bl_update(item, confirmed) is not None):
        calls += 1
    return calls


def _bricklink(
    client: BrickLinkClient, item: InventoryItem, state: SyncState, claim: Claim, gate: Gate
) -> None:
    lot_id, confirmed = state.lot_id, state.confirmed
    if state.in_doubt:
        # The re-read and what it will most likely lead to, paid for together.
        gate.reserve(1 + _bl_calls(item, lot_id, confirmed))
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
        extras: list[Lot] = []
        if not lot_id:
            mine = [lot for lot in lots if marker_item_id(lot.remarks) == item.id]
            confirmed = None
            if mine:
                lot_id, confirmed = str(mine[0].inventory_id), _bl_confirmed(mine[0])
            extras = mine[1:]  # a create that landed twice: keep one
        # What the re-read learnt is kept whatever comes next (in doubt while duplicates are
        # left to remove).
        _save(claim, lot_id=lot_id, confirmed=confirmed, in_doubt=bool(extras))
        if extras:
            gate.reserve(len(extras) + _bl_calls(item, lot_id, confirmed))
            for extra in extras:
                with gate.call():
                    _bl_delete(client, extra.inventory_id)
            _save(claim, in_doubt=False)

    gate.reserve(_bl_calls(item, lot_id, confirmed))
    wanted = item.listed_quantity
    if lot_id and (wanted <= 0 or not _bl_same_identity(confirmed, item)):
        # Gone from sale, or part/color/condition changed (a PUT cannot): remove the lot.
        with _mutation(claim), gate.call():
            _bl_delete(client, int(lot_id))
        lot_id, confirmed = "", None
        _save(claim, lot_id="", confirmed=None, in_doubt=False)
    if wanted <= 0:
        return
    if not lot_id:
        new = NewLot(
            item_no=item.part_number,
            color_id=item.color_id,
            quantity=wanted,
            new_or_used=CONDITION_BL[item.condition],
            unit_price=item.price,
            description=item.notes,
            remarks=bricklink_remarks(item),
        )
        with _mutation(claim), gate.call():
            lot = client.inventory_create(new)
        _save(claim, lot_id=str(lot.inventory_id), confirmed=_bl_confirmed(lot), in_doubt=False)
        return
    update = _bl_update(item, confirmed)
    if update is None:
        return
    with _mutation(claim), gate.call():
        try:
            lot = client.inventory_update(
                int(lot_id),
                description=item.notes,
                quantity_delta=update.quantity_delta,
                unit_price=update.unit_price,
                remarks=update.remarks,
            )
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
        "boid": lot.boid,
        "color_id": lot.color_id,
        "condition": lot.condition,
        "quantity": lot.quantity,
        "price": str(lot.price),
        "public_note": lot.public_note,
        "personal_note": lot.personal_note,
    }


@dataclass
class OwlCatalog:
    """Where BOIDs and BrickOwl colors are looked up: with the platform's own key and limit
    when there is one (catalog data is the same for every seller, and a seller's allowance
    is for their store), else with the seller's."""

    client: BrickOwlClient
    gate: Gate

    @classmethod
    def for_seller(cls, client: BrickOwlClient, gate: Gate) -> OwlCatalog:
        if settings.BRICKOWL_API_KEY:
            platform = Gate(Provider.BRICKOWL, "platform", limit=BRICKOWL_CATALOG_LIMIT)
            return cls(BrickOwlClient.platform(), platform)
        return cls(client, gate)


# How long one sync may keep others from the same look-up. Short: a holder that died frees it
# soon, and a live one slower than this only costs a second, harmless, look-up.
LOOKUP_LOCK_SECONDS = 5


@contextmanager
def _looking_up(what: str) -> Iterator[None]:
    """One look-up of a thing at a time, across every worker: a burst of syncs that all miss
    the cache asks once; the others wait a moment (no call) and find the answer kept."""
    key = f"brickowl:looking-up:{what}"
    if not caches["default"].add(key, 1, timeout=LOOKUP_LOCK_SECONDS):
        raise MustWait(0.5, f"another sync is looking up {what}")
    try:
        yield
    finally:
        caches["default"].delete(key)


def brickowl_boid(catalog: OwlCatalog, part_number: str) -> str:
    """The part's BrickOwl id, looked up once and kept (unmapped parts too)."""
    known = BrickOwlPart.objects.filter(part_number=part_number).first()
    if known is None:
        with _looking_up(f"boid:{part_number}"):
            # Looked at again: another sync may have just finished this very look-up.
            known = BrickOwlPart.objects.filter(part_number=part_number).first()
            if known is None:
                try:
                    with catalog.gate.call():
                        boids = catalog.client.id_lookup(part_number)
                except NotFound:
                    boids = []
                known, _ = BrickOwlPart.objects.update_or_create(
                    part_number=part_number,
                    defaults={"boid": boids[0] if boids else "", "looked_up_at": clock.now()},
                )
    if not known.boid:
        raise Unmappable(f"BrickOwl has no part for BrickLink number {part_number}")
    return known.boid


def brickowl_color(catalog: OwlCatalog, color_id: int) -> int:
    """BrickOwl's color for a BrickLink color id, from ``color_list``'s ``bl_ids`` (cached)."""
    cache = caches["default"]
    mapping = cache.get("brickowl:color-map")
    if mapping is None:
        with _looking_up("color-map"):
            mapping = cache.get("brickowl:color-map")  # another sync may have just fetched it
            if mapping is None:
                with catalog.gate.call():
                    colors = catalog.client.color_list()
                mapping = {bl_id: color.id for color in colors for bl_id in color.bl_ids}
                cache.set(
                    "brickowl:color-map", mapping, settings.INVENTORY_BRICKOWL_COLOR_CACHE_SECONDS
                )
    if color_id not in mapping:
        raise Unmappable(f"BrickOwl has no color for BrickLink color {color_id}")
    return mapping[color_id]


def _owl_desired(item: InventoryItem, catalog: OwlCatalog) -> dict[str, Any] | None:
    """The lot the item should be on BrickOwl (None: no lot at all)."""
    wanted = item.listed_quantity
    if wanted <= 0:
        return None
    return {
        "boid": brickowl_boid(catalog, item.part_number),
        "color_id": brickowl_color(catalog, item.color_id),
        "condition": owl_condition(item.condition),
        "quantity": wanted,
        "price": str(item.price.quantize(Decimal("0.001"))),
        "public_note": item.notes,
        "personal_note": item.location,
    }


def _owl_same_identity(confirmed: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    return bool(confirmed) and all(
        confirmed[key] == desired[key] for key in ("boid", "color_id", "condition")
    )


def _owl_calls(lot_id: str, confirmed: dict[str, Any] | None, desired: dict | None) -> int:
    """The calls that make the lot what is desired: a delete and/or a create, or an update."""
    if desired is None:
        return 1 if lot_id else 0
    if not lot_id:
        return 1
    if not _owl_same_identity(confirmed, desired):
        return 2
    return 0 if confirmed == desired else 1


def _brickowl(
    client: BrickOwlClient,
    item: InventoryItem,
    state: SyncState,
    claim: Claim,
    gate: Gate,
    catalog: OwlCatalog,
) -> None:
    lot_id, confirmed = state.lot_id, state.confirmed
    external_id = owl_external_id(item.id)
    desired = _owl_desired(item, catalog)
    if state.in_doubt:
        # A change may have landed unanswered: find our lot by our external id (which also
        # makes creates idempotent). The look-up and the likely change, paid for together.
        gate.reserve(1 + _owl_calls(lot_id, confirmed, desired))
        with gate.call():
            mine = client.inventory_list(external_id=external_id)
        keep = next((lot for lot in mine if lot.lot_id == lot_id), mine[0] if mine else None)
        extras = [lot for lot in mine if lot is not keep]
        lot_id, confirmed = (keep.lot_id, _owl_confirmed(keep)) if keep else ("", None)
        # What the look-up learnt is kept whatever comes next; with duplicates left to remove
        # the state stays in doubt, so a run that must wait first looks again.
        _save(claim, lot_id=lot_id, confirmed=confirmed, in_doubt=bool(extras))
        if extras:
            gate.reserve(len(extras) + _owl_calls(lot_id, confirmed, desired))
            for extra in extras:
                with gate.call():
                    _owl_delete(client, extra.lot_id)
            _save(claim, in_doubt=False)

    gate.reserve(_owl_calls(lot_id, confirmed, desired))
    if desired is None:
        if lot_id:
            with _mutation(claim), gate.call():
                _owl_delete(client, lot_id)
            _save(claim, lot_id="", confirmed=None, in_doubt=False)
        return
    if lot_id and not _owl_same_identity(confirmed, desired):
        with _mutation(claim), gate.call():
            _owl_delete(client, lot_id)
        lot_id, confirmed = "", None
        _save(claim, lot_id="", confirmed=None, in_doubt=False)
    if not lot_id:
        with _mutation(claim), gate.call():
            new_lot = client.inventory_create(
                boid=desired["boid"],
                color_id=desired["color_id"],
                quantity=desired["quantity"],
                price=item.price,
                condition=desired["condition"],
                external_id=external_id,
                public_note=item.notes,
                personal_note=item.location,
            )
        _save(claim, lot_id=new_lot, confirmed=desired, in_doubt=False)
        return
    if confirmed == desired:
        return
    with _mutation(claim), gate.call():
        try:
            client.inventory_update(
                lot_id=lot_id,
                absolute_quantity=desired["quantity"],
                price=item.price,
                public_note=item.notes,
                personal_note=item.location,
            )
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
    return {"code": code, "message": message, "at": now.isoformat().replace("+00:00", "Z"), **extra}


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
    with lease_held(
        model=SyncState, token=claim.token, seconds=settings.INVENTORY_SYNC_LEASE_SECONDS
    ):
        return _run(claim)


def _run(claim: Claim) -> SyncOutcome:
    item_id, provider = claim.item_id, claim.provider
    gate: Gate | None = None
    try:
        for _ in range(3):
            state = SyncState.objects.get(pk=claim.state_id)
            if state.status in (SyncStatus.SYNCED, SyncStatus.DISABLED, SyncStatus.FAILED):
                release_claim(claim, **_unspent(claim, gate))
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
                    "calling it",
                    item_id,
                    provider,
                    extra={"item_id": item_id},
                )
                if _done(claim, item.version):
                    return SyncOutcome("synced", "external calls disabled")
                continue
            gate = gate or Gate(provider, item.account_id, claim=claim)
            client = client_for(conn)
            try:
                if provider == Provider.BRICKLINK:
                    _bricklink(client, item, state, claim, gate)
                else:
                    catalog = OwlCatalog.for_seller(client, gate)
                    _brickowl(client, item, state, claim, gate, catalog)
            except _Again:
                continue
            if _done(claim, item.version):
                return SyncOutcome("synced", calls=gate.calls)
            # The item changed while we worked: converge again on what it is now.
        _reschedule(claim, gate, 0.0, "the item kept changing")
        return SyncOutcome("deferred", "item kept changing", gate.calls if gate else 0)
    except LostClaim:
        logger.warning("sync of #%s on %s lost its claim", item_id, provider)
        return SyncOutcome("lost_claim")
    except MustWait as wait:
        _reschedule(claim, gate, wait.wait, wait.reason)
        return SyncOutcome("deferred", wait.reason, gate.calls if gate else 0)
    except Unmappable as exc:
        _fail(claim, _error("unmappable", str(exc), clock.now(), provider=provider))
        return SyncOutcome("failed", str(exc), gate.calls if gate else 0)
    except MarketplaceError as exc:
        return _failed_call(claim, gate, exc)


def _unspent(claim: Claim, gate: Gate | None) -> dict[str, Any]:
    """The calls this run holds and has not spent, to go back on the row: the next run of
    this sync spends them instead of taking new ones."""
    if gate is None:
        return {"calls_reserved": claim.calls_reserved, "calls_usable_at": claim.calls_usable_at}
    return {"calls_reserved": gate.budget.held, "calls_usable_at": gate.budget.usable_at}


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
            claim,
            status=SyncStatus.SYNCED,
            synced_version=version,
            synced_at=clock.now(),
            last_error=None,
            attempts=0,
            next_attempt_at=None,
        )
    return True


def _fail(claim: Claim, error: dict[str, Any], **fields: Any) -> None:
    release_claim(claim, status=SyncStatus.FAILED, last_error=error, next_attempt_at=None, **fields)
    logger.warning(
        "sync of #%s on %s failed: %s",
        claim.item_id,
        claim.provider,
        error["message"],
        extra={"item_id": claim.item_id, "provider": claim.provider},
    )


def _reschedule(claim: Claim, gate: Gate | None, wait: float, reason: str) -> None:
    from .tasks import publish_sync

    unspent = _unspent(claim, gate)
    if unspent["calls_usable_at"] is not None:
        # A reservation: its turn is fixed and nobody races for it; a hair of jitter only.
        delay = wait + random.uniform(0, 0.05)  # noqa: S311
    else:
        delay = wait + random.uniform(0, min(1.0, max(0.1, wait * 0.2)))  # noqa: S311
    at = clock.now() + timedelta(seconds=delay)
    # A short wait is a delayed task (and the sweeper leaves it alone); a long one is the
    # sweeper's to send when it is due.
    soon = delay <= settings.INVENTORY_REQUEUE_MAX_DELAY_SECONDS
    released = release_claim(
        claim,
        status=SyncStatus.SYNCING,
        next_attempt_at=at,
        dispatched_at=at if soon else None,
        **unspent,
    )
    if released:
        record_backoff(source="inventory_sync", reason="deferred")
        if soon:
            transaction.on_commit(lambda: publish_sync(claim.item_id, claim.provider, delay))
        logger.info(
            "sync of #%s on %s waits %.1fs: %s", claim.item_id, claim.provider, delay, reason
        )


def _failed_call(claim: Claim, gate: Gate | None, exc: MarketplaceError) -> SyncOutcome:
    now = clock.now()
    calls = gate.calls if gate else 0
    error = _error(
        exc.code,
        exc.message,
        now,
        provider=exc.provider,
        http_status=exc.http_status,
        meta_code=exc.meta_code,
    )
    if exc.retryable:
        attempts = claim.attempts + 1
        if attempts < settings.INVENTORY_SYNC_MAX_ATTEMPTS:
            from .tasks import publish_sync

            delay = _retry_delay(attempts)
            at = now + timedelta(seconds=delay)
            soon = delay <= settings.INVENTORY_REQUEUE_MAX_DELAY_SECONDS
            released = release_claim(
                claim,
                status=SyncStatus.SYNCING,
                attempts=attempts,
                last_error=error,
                next_attempt_at=at,
                dispatched_at=at if soon else None,
                **_unspent(claim, gate),
            )
            if released:
                record_backoff(source="inventory_sync", reason="retry")
            if released and soon:
                transaction.on_commit(lambda: publish_sync(claim.item_id, claim.provider, delay))
            return SyncOutcome("retrying", str(exc), calls)
        _fail(claim, error, attempts=attempts)
        return SyncOutcome("failed", str(exc), calls)
    _fail(claim, error)
    return SyncOutcome("failed", str(exc), calls)
