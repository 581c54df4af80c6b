"""Our items as BrickOwl lots.

BrickOwl knows parts by BOID and has its own colors: both are looked up (``catalog/id_lookup``,
``color_list``'s ``bl_ids``) with the platform's key when there is one, once per part and once
for the colors, and kept. Our lots carry ``external_id=brickops-ID``, so after an ambiguous
failure the next run finds ours by it (a create that landed is never made twice); otherwise the
sync state already knows whether there is a lot. Updates are absolute, so they can be replayed.

A lot taken over from the seller's store (``takeover``) has no external id: it is known by its
lot id, and keeps the seller's grade of its condition (``usedg`` stays ``usedg``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches

from core import clock
from marketplaces.brickowl import BrickOwlClient, OwlLot
from marketplaces.brickowl.inventory import NewOwlLot
from marketplaces.errors import NotFound
from ratelimit.budget import MustWait

from ..models import BrickOwlPart, InventoryItem, Provider, SyncState
from .base import Gate, LotVanished, Step, Unmappable

EXTERNAL_ID = re.compile(r"^brickops-(\d+)$")
# Catalog look-ups (BOIDs, colors) with the platform's own BrickOwl key, when it has one.
CATALOG_LIMIT = "brickowl:platform"
COLOR_MAP_KEY = "brickowl:color-map"
# How long one sync may keep others from the same look-up. Short: a holder that died frees it
# soon, and a live one slower than this only costs a second, harmless, look-up.
LOOKUP_LOCK_SECONDS = 5


def external_id(item_id: int) -> str:
    return f"brickops-{item_id}"


def external_item_id(external: str | None) -> int | None:
    """The item a lot is ours for, from its external id (None: the seller's)."""
    found = EXTERNAL_ID.match(external or "")
    return int(found.group(1)) if found else None


def condition_for(condition: str) -> str:
    """BrickOwl's condition code for ours (used: INVENTORY_BRICKOWL_USED_CONDITION)."""
    return "new" if condition == "new" else settings.INVENTORY_BRICKOWL_USED_CONDITION


def confirmed_of(lot: OwlLot) -> dict[str, Any]:
    """What a sync state keeps of a lot BrickOwl listed."""
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
class Catalog:
    """Where BOIDs and BrickOwl colors are looked up: with the platform's own key and limit
    when there is one (catalog data is the same for every seller, and a seller's allowance is
    for their store), else with the seller's."""

    client: BrickOwlClient
    gate: Gate

    @classmethod
    def for_seller(cls, client: BrickOwlClient, gate: Gate) -> Catalog:
        if settings.BRICKOWL_API_KEY:
            platform = Gate(Provider.BRICKOWL, "platform", limit=CATALOG_LIMIT)
            return cls(BrickOwlClient.platform(), platform)
        return cls(client, gate)


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


def boid_for(catalog: Catalog, part_number: str) -> str:
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


def color_for(catalog: Catalog, color_id: int) -> int:
    """BrickOwl's color for a BrickLink color id, from ``color_list``'s ``bl_ids`` (cached)."""
    mapping = color_map(catalog)
    if color_id not in mapping:
        raise Unmappable(f"BrickOwl has no color for BrickLink color {color_id}")
    return mapping[color_id]


def color_map(catalog: Catalog) -> dict[int, int]:
    """BrickLink color id -> BrickOwl color id, from ``color_list``'s ``bl_ids`` (cached)."""
    cache = caches["default"]
    mapping = cache.get(COLOR_MAP_KEY)
    if mapping is None:
        with _looking_up("color-map"):
            mapping = cache.get(COLOR_MAP_KEY)  # another sync may have just fetched it
            if mapping is None:
                with catalog.gate.call():
                    colors = catalog.client.color_list()
                mapping = {bl_id: color.id for color in colors for bl_id in color.bl_ids}
                timeout = settings.INVENTORY_BRICKOWL_COLOR_CACHE_SECONDS
                cache.set(COLOR_MAP_KEY, mapping, timeout)
    return mapping


def desired_for(item: InventoryItem, catalog: Catalog) -> dict[str, Any] | None:
    """The lot the item should be on BrickOwl, as :func:`confirmed_of` writes one (None: no
    lot at all). Raises :class:`Unmappable`."""
    wanted = item.listed_quantity
    if wanted <= 0:
        return None
    return {
        "boid": boid_for(catalog, item.part_number),
        "color_id": color_for(catalog, item.color_id),
        "condition": condition_for(item.condition),
        "quantity": wanted,
        "price": str(item.price.quantize(Decimal("0.001"))),
        "public_note": item.notes,
        "personal_note": item.location,
    }


def condition_family(condition: str) -> str:
    """``new`` or ``used`` (or ``other``) for any of BrickOwl's condition codes."""
    for family in ("new", "used"):
        if condition.startswith(family):
            return family
    return condition


def keep_grade(desired: dict[str, Any] | None, confirmed: dict[str, Any] | None) -> dict | None:
    """The desired lot with the confirmed lot's grade of the same condition (a seller's
    ``usedg`` lot we took over is still used: no need to replace it with a ``usedn`` one)."""
    if not desired or not confirmed:
        return desired
    have = str(confirmed.get("condition") or "")
    if have != desired["condition"] and condition_family(have) == condition_family(
        desired["condition"]
    ):
        return {**desired, "condition": have}
    return desired


def same_identity(confirmed: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Part, color and condition: what an update cannot change."""
    return bool(confirmed) and all(
        confirmed[key] == desired[key] for key in ("boid", "color_id", "condition")
    )


def matches(confirmed: dict[str, Any] | None, desired: dict[str, Any] | None) -> bool:
    """The lot is the item as it should be listed (an unlisted item matches no lot)."""
    return desired is not None and confirmed == desired


def calls_needed(lot_id: str, confirmed: dict[str, Any] | None, desired: dict | None) -> int:
    """The calls that make the lot what is desired: a delete and/or a create, or an update."""
    if desired is None:
        return 1 if lot_id else 0
    if not lot_id:
        return 1
    if not same_identity(confirmed, desired):
        return 2
    return 0 if confirmed == desired else 1


def new_lot_for(item: InventoryItem, desired: dict[str, Any]) -> NewOwlLot:
    """The create that makes the desired lot, carrying our external id."""
    return NewOwlLot(
        boid=desired["boid"],
        color_id=desired["color_id"],
        quantity=desired["quantity"],
        price=item.price,
        condition=desired["condition"],
        external_id=external_id(item.pk),
        public_note=item.notes,
        personal_note=item.location,
    )


def delete(client: BrickOwlClient, lot_id: str) -> None:
    with suppress(NotFound):  # already gone: that is what we wanted
        client.inventory_delete(lot_id=lot_id)


def converge(
    client: BrickOwlClient,
    item: InventoryItem,
    state: SyncState,
    step: Step,
    gate: Gate,
    catalog: Catalog,
) -> None:
    """Make the lot the item (looked up by our external id first when in doubt). Raises
    :class:`Unmappable`, and :class:`LotVanished` when the lot was deleted under us."""
    lot_id, confirmed = state.lot_id, state.confirmed
    desired = desired_for(item, catalog)
    if state.in_doubt or state.recheck:
        lot_id, confirmed = _look_up(client, item, lot_id, confirmed, desired, step, gate)
    desired = keep_grade(desired, confirmed)

    gate.reserve(calls_needed(lot_id, confirmed, desired))
    if desired is None:
        if lot_id:
            with step.mutation(), gate.call():
                delete(client, lot_id)
            step.save(lot_id="", confirmed=None, in_doubt=False)
        return
    if lot_id and not same_identity(confirmed, desired):
        with step.mutation(), gate.call():
            delete(client, lot_id)
        lot_id, confirmed = "", None
        step.save(lot_id="", confirmed=None, in_doubt=False)
    if not lot_id:
        with step.mutation(), gate.call():
            new_lot = client.inventory_create(**asdict(new_lot_for(item, desired)))
        step.save(lot_id=new_lot, confirmed=desired, in_doubt=False)
        return
    if confirmed == desired:
        return
    with step.mutation(), gate.call():
        try:
            client.inventory_update(
                lot_id=lot_id,
                absolute_quantity=desired["quantity"],
                price=item.price,
                public_note=item.notes,
                personal_note=item.location,
            )
        except NotFound:
            step.save(lot_id="", confirmed=None, in_doubt=False)
            raise LotVanished from None
    step.save(confirmed=desired, in_doubt=False)


def _look_up(
    client: BrickOwlClient,
    item: InventoryItem,
    lot_id: str,
    confirmed: dict[str, Any] | None,
    desired: dict[str, Any] | None,
    step: Step,
    gate: Gate,
) -> tuple[str, dict[str, Any] | None]:
    """A change may have landed unanswered: find our lot by our external id -- or, when none
    carries it and the state knows a lot id (a lot we adopted has no external id), by that id.
    The look-up and the change it most likely leads to are paid for together."""
    gate.reserve(1 + calls_needed(lot_id, confirmed, desired))
    with gate.call():
        mine = client.inventory_list(external_id=external_id(item.id))
    if not mine and lot_id:
        gate.reserve(1 + calls_needed(lot_id, confirmed, desired))
        with gate.call():
            found = client.inventory_list(lot_id=lot_id)
        # Ours only if no other item's external id is on it.
        mine = [
            lot
            for lot in found
            if lot.lot_id == lot_id and external_item_id(lot.external_id) in (None, item.id)
        ]
    keep = next((lot for lot in mine if lot.lot_id == lot_id), mine[0] if mine else None)
    extras = [lot for lot in mine if lot is not keep]
    lot_id, confirmed = (keep.lot_id, confirmed_of(keep)) if keep else ("", None)
    step.keep_found(
        lot_id,
        confirmed,
        extras,
        gate=gate,
        delete=lambda extra: delete(client, extra.lot_id),
        calls_after=calls_needed(lot_id, confirmed, desired),
    )
    return lot_id, confirmed
