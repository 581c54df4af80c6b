"""A seller's lots as a takeover sees them: each lot's identity in our terms (part, BrickLink
color, condition), the item a lot would become, and what the item's sync state keeps of it --
or why the lot cannot be mapped, or that it is already ours.

Reading the store is one call (BrickLink ``GET /inventories``, BrickOwl ``inventory/list``),
paid for through the account's limit like a sync's calls. BrickOwl's BOIDs and colors are
mapped back to BrickLink's with what the sync knows (``BrickOwlPart``, the color map), after
looking up the BOIDs of the account's items' parts not known yet, 50 to a ``bulk/batch`` call
(with the platform's key when there is one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from inventory.lots import bricklink, brickowl
from inventory.lots.base import Gate, Unmappable
from inventory.lots.brickowl_upload import boids_look_up
from inventory.models import BrickOwlPart, InventoryItem, MarketplaceConnection, Provider
from inventory.sync import client_for
from marketplaces.bricklink import CONDITIONS
from marketplaces.bricklink import Lot as BrickLinkLot
from marketplaces.brickowl import BrickOwlClient, OwlLot
from marketplaces.brickowl.bulk import BATCH_MAX

# (part number, BrickLink color id, "new" | "used"): what an item and a lot are matched on.
Key = tuple[str, int, str]
# Told how far a long step is: (what, total) -> something with update(n) and close().
Progress = Callable[[str, int], Any]

BRICKLINK_CONDITIONS = {code: ours for ours, code in CONDITIONS.items()}
LOCATION_MAX = InventoryItem._meta.get_field("location").max_length
NAME_MAX = InventoryItem._meta.get_field("name").max_length


@dataclass(frozen=True)
class Found:
    """A seller's lot we can take over."""

    lot_id: str
    key: Key
    item_data: dict[str, Any]  # the item it becomes when no item matches
    confirmed: dict[str, Any]  # what the item's sync state keeps of it


@dataclass(frozen=True)
class Unmapped:
    lot_id: str
    reason: str


@dataclass(frozen=True)
class Ours:
    """A lot already linked to an item (our marker or external id)."""

    lot_id: str


Entry = Found | Unmapped | Ours


@dataclass
class OwlMaps:
    """BrickOwl -> BrickLink: BOID -> part number, BrickOwl color -> BrickLink color."""

    parts: dict[str, str] = field(default_factory=dict)
    colors: dict[int, int] = field(default_factory=dict)


def store_read(connection: MarketplaceConnection, gate: Gate) -> list[Any]:
    """Every lot of the store: one call, paid for first (:class:`MustWait` when it must wait)."""
    client = client_for(connection)
    gate.reserve(1)
    with gate.call():
        return client.inventory_list()


def item_data(
    key: Key, quantity: int, price: Any, notes: str, location: str, name: str = ""
) -> dict[str, Any]:
    part_number, color_id, condition = key
    return {
        "part_number": part_number,
        "color_id": color_id,
        "condition": condition,
        "name": name[:NAME_MAX],
        "quantity_available": max(0, quantity),
        "price": price,
        "notes": notes,
        "location": location[:LOCATION_MAX],
    }


def from_bricklink(lot: BrickLinkLot) -> Entry:
    lot_id = str(lot.inventory_id)
    if bricklink.marked_item_id(lot.remarks) is not None:
        return Ours(lot_id)
    if lot.item_type != "PART":
        return Unmapped(lot_id, f"a {lot.item_type or 'untyped'} lot: only parts are taken over")
    condition = BRICKLINK_CONDITIONS.get(lot.new_or_used)
    if condition is None:
        return Unmapped(lot_id, f"unknown condition {lot.new_or_used!r}")
    key = (lot.item_no, lot.color_id, condition)
    data = item_data(key, lot.quantity, lot.unit_price, lot.description, lot.remarks, lot.item_name)
    return Found(lot_id, key, data, bricklink.confirmed_of(lot))


def from_brickowl(lot: OwlLot, maps: OwlMaps) -> Entry:
    if brickowl.external_item_id(lot.external_id) is not None:
        return Ours(lot.lot_id)
    part = maps.parts.get(lot.boid)
    if part is None:
        return Unmapped(lot.lot_id, f"BrickOwl part {lot.boid} has no known BrickLink number")
    color = maps.colors.get(lot.color_id) if lot.color_id is not None else None
    if color is None:
        return Unmapped(lot.lot_id, f"BrickOwl color {lot.color_id} has no BrickLink color")
    condition = brickowl.condition_family(lot.condition)
    if condition not in ("new", "used"):
        return Unmapped(lot.lot_id, f"condition {lot.condition!r} is neither new nor used")
    key = (part, color, condition)
    data = item_data(key, lot.quantity, lot.price, lot.public_note, lot.personal_note)
    return Found(lot.lot_id, key, data, brickowl.confirmed_of(lot))


def owl_look_ups(
    account_id: int, client: BrickOwlClient, gate: Gate, progress: Progress | None = None
) -> brickowl.Catalog:
    """Look up the BOIDs of the account's live items' parts not looked up yet (once each,
    kept, as a sync does) and BrickOwl's colors. A look-up that must wait raises
    :class:`MustWait`; what was looked up is kept, so the next run goes on from there."""
    catalog = brickowl.Catalog.for_seller(client, gate)
    parts = set(
        InventoryItem.objects.filter(account_id=account_id, archived=False)
        .values_list("part_number", flat=True)
        .distinct()
    )
    known = set(
        BrickOwlPart.objects.filter(part_number__in=parts).values_list("part_number", flat=True)
    )
    missing = sorted(parts - known)
    bar = progress("BOIDs", len(missing)) if progress and missing else None
    try:
        for start in range(0, len(missing), BATCH_MAX):
            group = missing[start : start + BATCH_MAX]
            boids_look_up(catalog, group)  # 50 to a bulk/batch call
            if bar is not None:
                bar.update(len(group))
    finally:
        if bar is not None:
            bar.close()
    # A part whose answer in its batch failed: looked up on its own (a failure fails the
    # import, which is tried again; it never reports a lot unmapped for a passing error).
    still = set(missing) - set(
        BrickOwlPart.objects.filter(part_number__in=missing).values_list("part_number", flat=True)
    )
    for part in sorted(still):
        with suppress(Unmappable):  # kept as unmapped: BrickOwl has no such part
            brickowl.boid_for(catalog, part)
    brickowl.color_map(catalog)
    return catalog


def owl_maps(catalog: brickowl.Catalog, boids: Iterable[str]) -> OwlMaps:
    """What the store's BOIDs and colors are on BrickLink (after :func:`owl_look_ups`)."""
    maps = OwlMaps()
    rows = BrickOwlPart.objects.filter(boid__in=set(boids)).order_by("part_number")
    for part_number, boid in rows.values_list("part_number", "boid"):
        maps.parts.setdefault(boid, part_number)
    for bl_color, owl_color in sorted(brickowl.color_map(catalog).items()):
        maps.colors.setdefault(owl_color, bl_color)
    return maps


def entries_of(
    connection: MarketplaceConnection, lots: list[Any], catalog: brickowl.Catalog | None = None
) -> list[Entry]:
    """Each of the store's lots, in our terms (a BrickOwl store's: with the ``catalog``
    :func:`owl_look_ups` prepared)."""
    if connection.provider == Provider.BRICKLINK:
        return [from_bricklink(lot) for lot in lots]
    if catalog is None:
        raise ValueError("a BrickOwl store's lots are mapped after owl_look_ups")
    boids = {lot.boid for lot in lots if brickowl.external_item_id(lot.external_id) is None}
    maps = owl_maps(catalog, boids)
    return [from_brickowl(lot, maps) for lot in lots]
