"""Our items as BrickOwl lots, many at once: ``bulk/batch`` calls of 50 creates each, and the
BOIDs of their parts looked up 50 to a call the same way.

Batch calls have a limit of their own (``brickowl:batch``, BrickOwl's 100 a minute). Each
create carries our external id, so a batch that may have landed unanswered leaves its syncs in
doubt, and the next run finds their lots with one ``inventory/list`` of the store before
creating anything again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core import clock
from marketplaces.brickowl import BrickOwlClient, OwlLot
from marketplaces.brickowl.bulk import BATCH_MAX
from marketplaces.errors import MarketplaceError, NotFound

from ..models import BrickOwlPart, Provider
from .base import Gate, Unmappable
from .brickowl import (
    Catalog,
    confirmed_of,
    desired_for,
    external_item_id,
    keep_grade,
    matches,
    new_lot_for,
)
from .chunk import Chunk

BATCH_LIMIT = "brickowl:batch"


def batch_gate(key: int | str, **budget: Any) -> Gate:
    """Batch calls of one BrickOwl key, under their own limit."""
    return Gate(Provider.BRICKOWL, key, limit=BATCH_LIMIT, **budget)


def boids_look_up(catalog: Catalog, parts: Iterable[str]) -> None:
    """Look up, 50 to a batch call, the BOIDs of the parts not looked up yet, and keep them as
    a single look-up would (a part BrickOwl does not know is kept as unmapped). A part whose
    own answer failed is left to the single look-up of the sync that needs it."""
    parts = set(parts)
    known = set(
        BrickOwlPart.objects.filter(part_number__in=parts).values_list("part_number", flat=True)
    )
    missing = sorted(parts - known)
    # Its reservations could not be kept past a wait: it takes only what is free now.
    gate = batch_gate(catalog.gate.key, reserve_ahead=False)
    for start in range(0, len(missing), BATCH_MAX):
        group = missing[start : start + BATCH_MAX]
        gate.reserve(1)
        with gate.call():
            results = catalog.client.id_lookup_batch(group)
        now = clock.now()
        rows = []
        for part, result in zip(group, results, strict=True):
            if result.ok:
                boid = result.value[0] if result.value else ""
            elif isinstance(result.error, NotFound):
                boid = ""
            else:
                continue
            rows.append(BrickOwlPart(part_number=part, boid=boid, looked_up_at=now))
        BrickOwlPart.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["part_number"],
            update_fields=["boid", "looked_up_at"],
        )


def upload(client: BrickOwlClient, chunk: Chunk, catalog: Catalog, list_gate: Gate) -> None:
    """Create the chunk's lots, 50 to a ``bulk/batch`` call (``chunk.gate``: the batch limit).
    Syncs in doubt are looked for first, with one listing of the store (``list_gate``)."""
    try:
        boids_look_up(catalog, {chunk.item(pk).part_number for pk in chunk.open()})
    except MarketplaceError as exc:
        chunk.fail_open(exc)
        return
    doubtful = chunk.doubtful()
    if doubtful:
        list_gate.reserve(1)
        with list_gate.call():
            lots = client.inventory_list()
        _match(chunk, lots, doubtful, catalog)
    wanted: dict[int, dict[str, Any]] = {}
    for pk in chunk.open():
        try:
            wanted[pk] = desired_for(chunk.item(pk), catalog)
        except Unmappable as exc:
            chunk.give_up(pk, "unmappable", str(exc))
        except MarketplaceError as exc:  # a part's own look-up, when the batch's failed
            chunk.fail(pk, exc)
    pks = list(wanted)
    for start in range(0, len(pks), BATCH_MAX):
        group = pks[start : start + BATCH_MAX]
        chunk.gate.reserve(1)
        lots = [new_lot_for(chunk.item(pk), wanted[pk]) for pk in group]
        try:
            with chunk.mutation(group), chunk.gate.call():
                results = client.inventory_create_batch(lots)
        except MarketplaceError as exc:
            if not exc.retryable and not exc.ambiguous:
                chunk.hand_over(group, f"BrickOwl refused the batch: {exc.message}", refused=True)
                continue
            # BrickOwl is failing: the rest waits with these instead of calling on.
            chunk.fail_open(exc)
            return
        for pk, result in zip(group, results, strict=True):
            if result.ok:
                chunk.record(pk, result.value, wanted[pk], in_sync=True)
            else:
                chunk.fail(pk, result.error)


def _match(chunk: Chunk, lots: list[OwlLot], pks: list[int], catalog: Catalog) -> None:
    """Each doubtful sync's lot among the store's, by our external id. One: recorded. Several
    (a create that landed twice): a single sync keeps one. None: it never landed."""
    twice, missing = [], []
    for pk, found in chunk.lots_of(
        lots, pks, lambda lot: external_item_id(lot.external_id)
    ).items():
        item = chunk.item(pk)
        if len(found) > 1:
            twice.append(pk)
        elif not found:
            missing.append(pk)
        else:
            confirmed = confirmed_of(found[0])
            try:
                desired = keep_grade(desired_for(item, catalog), confirmed)
            except Unmappable as exc:
                chunk.give_up(pk, "unmappable", str(exc))
                continue
            chunk.record(pk, found[0].lot_id, confirmed, in_sync=matches(confirmed, desired))
    if twice:
        chunk.hand_over(twice, "a lot listed twice by its external id")
    chunk.doubt_cleared(missing)
