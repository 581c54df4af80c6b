"""Our items as BrickLink lots.

BrickLink has no external id, and a quantity PUT is a **delta**: replaying one doubles stock
(docs/marketplaces.md). So ours carry a marker, ``[brickops:ID]``, in the private remarks
(after the seller's location), and the sync works from the lot as BrickLink last *confirmed*
it: before every change the state is marked in doubt, a definite answer clears it, and after
an ambiguous one the next run re-reads the lot (or finds it by its marker) and recomputes --
it never replays.

A lot taken over from the seller's store (``takeover``) has no marker and keeps none: it is
known by its lot id, and its remarks stay the seller's location.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marketplaces.bricklink import CONDITIONS, BrickLinkClient, Lot, NewLot
from marketplaces.errors import MarketplaceError, NotFound, TransientError

from ..models import InventoryItem, SyncState
from .base import Gate, LotVanished, Step
from .chunk import Chunk

MARKER = re.compile(r"\[brickops:(\d+)\]")


def marker(item_id: int) -> str:
    return f"[brickops:{item_id}]"


def remarks_for(item: InventoryItem, confirmed: dict[str, Any] | None = None) -> str:
    """BrickLink's private remarks: the seller's location, then our marker -- but a lot we
    adopted (a store takeover: :func:`adopted`) keeps only the location, as the seller had it,
    so taking it over costs no PUT."""
    if adopted(confirmed):
        return item.location[:255]
    return f"{item.location} {marker(item.id)}".strip()[:255]


def marked_item_id(remarks: str) -> int | None:
    """The item a lot is ours for, from the marker in its remarks (None: the seller's)."""
    found = MARKER.search(remarks or "")
    return int(found.group(1)) if found else None


def adopted(confirmed: dict[str, Any] | None) -> bool:
    """The confirmed lot is a seller's own we took over (no marker): it is known by its lot
    id alone and stays unmarked."""
    return bool(confirmed) and marked_item_id(confirmed["remarks"]) is None


def confirmed_of(lot: Lot) -> dict[str, Any]:
    """What a sync state keeps of a lot BrickLink answered with."""
    return {
        "item_no": lot.item_no,
        "color_id": lot.color_id,
        "new_or_used": lot.new_or_used,
        "quantity": lot.quantity,
        "unit_price": str(lot.unit_price),
        "description": lot.description,
        "remarks": lot.remarks,
    }


def same_identity(confirmed: dict[str, Any] | None, item: InventoryItem) -> bool:
    """Part, color and condition: what a PUT cannot change."""
    return bool(confirmed) and (
        confirmed["item_no"] == item.part_number
        and confirmed["color_id"] == item.color_id
        and confirmed["new_or_used"] == CONDITIONS[item.condition]
    )


@dataclass(frozen=True)
class Update:
    quantity_delta: int
    unit_price: Decimal | None
    remarks: str | None


def update_for(item: InventoryItem, confirmed: dict[str, Any]) -> Update | None:
    """What a PUT must send to make the confirmed lot the item; None when nothing differs."""
    delta = item.listed_quantity - confirmed["quantity"]
    price = None if Decimal(confirmed["unit_price"]) == item.price else item.price
    remarks = remarks_for(item, confirmed)
    remarks_change = None if confirmed["remarks"] == remarks else remarks
    same_notes = confirmed["description"] == item.notes
    if not delta and price is None and remarks_change is None and same_notes:
        return None
    return Update(delta, price, remarks_change)


def matches(item: InventoryItem, confirmed: dict[str, Any] | None) -> bool:
    """The lot is the item as it should be listed (an unlisted item matches no lot)."""
    return (
        item.listed_quantity > 0
        and same_identity(confirmed, item)
        and update_for(item, confirmed) is None
    )


def calls_needed(item: InventoryItem, lot_id: str, confirmed: dict[str, Any] | None) -> int:
    """The calls that make the lot the item: a delete, a create or a PUT (never more than 2)."""
    wanted, calls = item.listed_quantity, 0
    if lot_id and (wanted <= 0 or not same_identity(confirmed, item)):
        lot_id, calls = "", 1
    if wanted > 0 and (not lot_id or update_for(item, confirmed) is not None):
        calls += 1
    return calls


def is_ours(lot: Lot, item: InventoryItem, confirmed: dict[str, Any] | None) -> bool:
    """The lot a PUT answered with is the item's: marked for it, or -- an adopted lot, known
    by its id -- still unmarked and the same part, color and condition. A lot marked for
    another item is never ours."""
    owner = marked_item_id(lot.remarks)
    if owner is not None:
        return owner == item.id
    return adopted(confirmed) and same_identity(confirmed_of(lot), item)


def delete(client: BrickLinkClient, inventory_id: int) -> None:
    with suppress(NotFound):  # already gone: that is what we wanted
        client.inventory_delete(inventory_id)


class NotListed(TransientError):
    """BrickLink said the array was created, and a lot of it is not listed."""

    def __init__(self) -> None:
        super().__init__(
            "BrickLink created the batch but does not list this lot yet",
            provider="bricklink",
            ambiguous=True,
        )


def converge(
    client: BrickLinkClient, item: InventoryItem, state: SyncState, step: Step, gate: Gate
) -> None:
    """Make the lot the item, from what BrickLink last confirmed (re-read first when in
    doubt). Raises :class:`LotVanished` when the lot was deleted under us."""
    lot_id, confirmed = state.lot_id, state.confirmed
    if state.in_doubt or state.recheck:
        lot_id, confirmed = _re_read(client, item, lot_id, confirmed, step, gate)

    gate.reserve(calls_needed(item, lot_id, confirmed))
    wanted = item.listed_quantity
    if lot_id and (wanted <= 0 or not same_identity(confirmed, item)):
        # Gone from sale, or part/color/condition changed (a PUT cannot): remove the lot.
        with step.mutation(), gate.call():
            delete(client, int(lot_id))
        lot_id, confirmed = "", None
        step.save(lot_id="", confirmed=None, in_doubt=False)
    if wanted <= 0:
        return
    if not lot_id:
        with step.mutation(), gate.call():
            lot = client.inventory_create(new_lot_for(item))
        step.save(lot_id=str(lot.inventory_id), confirmed=confirmed_of(lot), in_doubt=False)
        return
    update = update_for(item, confirmed)
    if update is None:
        return
    with step.mutation(), gate.call():
        try:
            lot = client.inventory_update(
                int(lot_id),
                description=item.notes,
                quantity_delta=update.quantity_delta,
                unit_price=update.unit_price,
                remarks=update.remarks,
            )
        except NotFound:
            step.save(lot_id="", confirmed=None, in_doubt=False)
            raise LotVanished from None
    if not is_ours(lot, item, confirmed):
        # BrickLink answered with a lot that is not this item's (the id now names another
        # lot): forget it and find ours by its marker before changing anything again.
        step.save(lot_id="", confirmed=None, in_doubt=True)
        raise LotVanished
    # What BrickLink answered is the truth, orders taken meanwhile included.
    step.save(confirmed=confirmed_of(lot), in_doubt=False)


def _re_read(
    client: BrickLinkClient,
    item: InventoryItem,
    lot_id: str,
    confirmed: dict[str, Any] | None,
    step: Step,
    gate: Gate,
) -> tuple[str, dict[str, Any] | None]:
    """A change may have landed unanswered: read the lot again, or find it by our marker.
    The re-read and the change it most likely leads to are paid for together."""
    gate.reserve(1 + calls_needed(item, lot_id, confirmed))
    lots: list[Lot] = []
    with gate.call():
        if lot_id:
            try:
                confirmed = confirmed_of(client.inventory_get(int(lot_id)))
            except NotFound:
                lot_id, confirmed = "", None
        else:
            lots = client.inventory_list()
    extras: list[Lot] = []
    if not lot_id:
        mine = [lot for lot in lots if marked_item_id(lot.remarks) == item.id]
        confirmed = None
        if mine:
            lot_id, confirmed = str(mine[0].inventory_id), confirmed_of(mine[0])
        extras = mine[1:]  # a create that landed twice: keep one
    step.keep_found(
        lot_id,
        confirmed,
        extras,
        gate=gate,
        delete=lambda extra: delete(client, extra.inventory_id),
        calls_after=calls_needed(item, lot_id, confirmed),
    )
    return lot_id, confirmed


def new_lot_for(item: InventoryItem) -> NewLot:
    """The lot a create sends for the item, marked as ours."""
    return NewLot(
        item_no=item.part_number,
        color_id=item.color_id,
        quantity=item.listed_quantity,
        new_or_used=CONDITIONS[item.condition],
        unit_price=item.price,
        description=item.notes,
        remarks=remarks_for(item),
    )


def upload(client: BrickLinkClient, chunk: Chunk) -> None:
    """Create the chunk's lots with one array ``POST /inventories`` and learn their ids with
    one ``GET /inventories``, matched by our marker. Syncs in doubt (an earlier create may have
    landed unanswered) are looked for first, in one more listing, and never sent again blindly."""
    gate = chunk.gate
    doubtful = chunk.doubtful()
    if doubtful:
        gate.reserve(1)
        with gate.call():
            lots = client.inventory_list()
        _match(chunk, lots, doubtful, after_create=False)
    sending = chunk.open()
    if not sending:
        return
    gate.reserve(2)
    try:
        with chunk.mutation(sending), gate.call():
            client.inventory_create_many([new_lot_for(chunk.item(pk)) for pk in sending])
    except MarketplaceError as exc:
        if not exc.retryable and not exc.ambiguous:
            # BrickLink takes an array all or nothing: which lot it refused is not said.
            chunk.hand_over(sending, f"BrickLink refused the batch: {exc.message}", refused=True)
            return
        for pk in sending:
            chunk.fail(pk, exc)
        return
    try:
        with gate.call():
            lots = client.inventory_list()
    except MarketplaceError as exc:
        # Created, ids unknown: still in doubt, so the next run finds them by marker.
        for pk in sending:
            chunk.fail(pk, exc, in_doubt=True)
        return
    _match(chunk, lots, sending, after_create=True)


def _match(chunk: Chunk, lots: list[Lot], pks: list[int], *, after_create: bool) -> None:
    """Each sync's lot among ``lots``, by our marker. One lot: recorded. Several (a create
    that landed twice): a single sync keeps one and deletes the others. None: after our
    create, a lot BrickLink said it made and does not list (retried, still in doubt); when
    looking for a doubtful create, it never landed (sent again)."""
    twice, missing = [], []
    for pk, found in chunk.lots_of(lots, pks, lambda lot: marked_item_id(lot.remarks)).items():
        item = chunk.item(pk)
        if len(found) == 1:
            confirmed = confirmed_of(found[0])
            lot_id = str(found[0].inventory_id)
            chunk.record(pk, lot_id, confirmed, in_sync=matches(item, confirmed))
        elif found:
            twice.append(pk)
        else:
            missing.append(pk)
    if twice:
        chunk.hand_over(twice, "a lot listed twice by its marker")
    if after_create:
        for pk in missing:
            chunk.fail(pk, NotListed())
    else:
        chunk.doubt_cleared(missing)
