"""Stores that already hold a seller's lots: ``/_control``'s ``prefill``, for takeover tests.

``POST /_control`` takes ``"prefill"``: one object or a list of them, filled in order (after
the rest of the body, so after ``reset``, ``seed`` and added accounts)::

    {"reset": true, "prefill": [
        {"provider": "bricklink", "account": "sandbox-consumer-key", "lots": 2000, "seed": 7},
        {"provider": "brickowl", "account": "sandbox-brickowl-key", "lots": 1500, "seed": 8,
         "share_with": {"provider": "bricklink", "account": "sandbox-consumer-key"},
         "shared": 1200}]}

* ``lots`` lots are added to the store (its lots so far are kept): catalog parts in colors the
  part comes in, new or used, each (part, color, condition) at most once in the store and not
  one it already has. BrickOwl lots name the part by its BOID and the color by BrickOwl's id
  (parts and colors BrickOwl does not know are never drawn for it). They carry no brickops
  marker and no external id: a seller's own lots (remarks like ``Bin C14``, a note now and
  then, BrickOwl's used lots graded ``usedn``, ``usedg`` or ``useda``).
* ``share_with`` names another store (filled earlier in the same list, or before); exactly
  ``shared`` of the new lots have a (part, color, condition) that store has, the others none
  that it has. A shared lot keeps the other store's quantity three times in four.
* ``seed`` (default 1): the same seed, catalog and stores before give the same lots, lot for
  lot.
* Like ``/_inventory``'s changes, a prefill is neither counted nor in the ledger. The answer
  is the configuration plus ``"prefilled": [{"provider", "account", "lots", "shared",
  "store_lots"}]``.

The body's shape is checked in full before anything is applied; a prefill the stores cannot satisfy
(an unknown account, a catalog too small for so many distinct lots: start the sandbox with more
``--parts``) is refused with none of its lots stored, though the rest of the body has then been
applied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketplaces.sandbox import bricklink, brickowl
from marketplaces.sandbox.accounts import BRICKLINK, BRICKOWL, PROVIDERS
from marketplaces.sandbox.catalog import Catalog
from marketplaces.sandbox.errors import ControlError
from marketplaces.sandbox.state import SandboxState

MAX_LOTS = 100_000
SAME_QUANTITY_SHARE = 0.75

# (part number, BrickLink color id, "N" or "U"): one lot's identity on either marketplace.
Key = tuple[str, int, str]
Store = tuple[str, str]

_KEYS = {"provider", "account", "lots", "seed", "share_with", "shared"}
_USED_GRADES = (("usedn", 0.6), ("usedg", 0.3), ("useda", 0.1))
_NOTES = ("Like new", "Some play wear", "Light scratches", "Slightly yellowed", "Bulk lot")
_PLACES = ("Bin", "Drawer", "Box", "Shelf")


@dataclass(frozen=True, slots=True)
class Prefill:
    store: Store
    lots: int
    seed: int
    share_with: Store | None
    shared: int


@dataclass(slots=True)
class Held:
    """What a store holds of one key: enough for a shared lot to look like it."""

    quantity: int
    price: Decimal


def parse_prefill(raw: Any) -> list[Prefill]:
    """The ``prefill`` value, checked in full, or :class:`ControlError`."""
    entries = raw if isinstance(raw, list) else [raw]
    if not entries:
        raise ControlError("prefill must be an object or a non-empty list of objects")
    return [_parse_one(entry) for entry in entries]


def _parse_one(raw: Any) -> Prefill:
    if not isinstance(raw, dict):
        raise ControlError("a prefill must be an object")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ControlError(f"unknown prefill keys: {sorted(unknown)}")
    store = _store_name(raw, "prefill")
    lots = _whole(raw.get("lots"), "prefill.lots", 1, MAX_LOTS)
    seed = _whole(raw.get("seed", 1), "prefill.seed", 0, 2**63)
    shared = _whole(raw.get("shared", 0), "prefill.shared", 0, lots)
    share_with = None
    if "share_with" in raw:
        share_with = _store_name(raw["share_with"], "prefill.share_with")
        if share_with == store:
            raise ControlError("a store cannot share_with itself")
    elif shared:
        raise ControlError("prefill.shared needs share_with: the store to share lots with")
    return Prefill(store, lots, seed, share_with, shared)


def _store_name(raw: Any, what: str) -> Store:
    if not isinstance(raw, dict) or raw.get("provider") not in PROVIDERS:
        raise ControlError(f'{what} needs "provider": "bricklink" or "brickowl"')
    if not isinstance(raw.get("account"), str) or not raw["account"]:
        raise ControlError(f"{what} needs the account's key as a non-empty string")
    return raw["provider"], raw["account"]


def _whole(value: Any, name: str, low: int, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise ControlError(f"{name} must be an integer from {low} to {top}, not {value!r}")
    return value


# --- filling ---------------------------------------------------------------------------------


def prefill_stores(state: SandboxState, prefills: list[Prefill]) -> list[dict[str, Any]]:
    """Plan every prefill, then store every lot. Caller holds the lock."""
    held: dict[Store, dict[Key, Held]] = {}

    def holding(store: Store) -> dict[Key, Held]:
        if store not in held:
            held[store] = _holding(state, store)
        return held[store]

    plans = []
    for prefill in prefills:
        lots = _plan(state.catalog, prefill, holding)
        for key, body_held in lots:
            holding(prefill.store)[key] = body_held
        plans.append((prefill, lots))
    report = []
    for prefill, lots in plans:
        provider, account = prefill.store
        store = state.store(provider, account)
        rng = random.Random(f"prefill-looks:{provider}:{prefill.seed}")  # noqa: S311
        for key, lot in lots:
            _store_lot(state, store, provider, key, lot, rng)
        report.append(
            {
                "provider": provider,
                "account": account,
                "lots": len(lots),
                "shared": prefill.shared,
                "store_lots": len(store.lots),
            }
        )
    return report


def _plan(catalog: Catalog, prefill: Prefill, holding) -> list[tuple[Key, Held]]:
    """The keys (and quantities, prices) of a prefill's lots, in the order they are stored."""
    provider = prefill.store[0]
    rng = random.Random(f"prefill:{provider}:{prefill.seed}")  # noqa: S311 - replayable
    taken = holding(prefill.store)
    universe = universe_of(catalog, provider)
    source = holding(prefill.share_with) if prefill.share_with else {}
    allowed = set(universe)
    eligible = sorted(key for key in source if key in allowed and key not in taken)
    if len(eligible) < prefill.shared:
        raise ControlError(
            f"prefill: {prefill.share_with} has only {len(eligible)} lots {provider} can "
            f"list and {prefill.store[1]!r} has not, {prefill.shared} asked to be shared"
        )
    shared = rng.sample(eligible, prefill.shared)
    pool = [key for key in universe if key not in taken and key not in source]
    wanted = prefill.lots - prefill.shared
    if len(pool) < wanted:
        raise ControlError(
            f"prefill: the catalog has {len(pool)} more distinct lots for "
            f"{prefill.store[1]!r}, {wanted} asked; start the sandbox with more --parts"
        )
    lots = [(key, _shared_lot(rng, source[key])) for key in shared]
    for key in rng.sample(pool, wanted):
        lots.append((key, Held(_quantity(rng), _price(rng, catalog, key))))
    rng.shuffle(lots)
    return lots


def universe_of(catalog: Catalog, provider: str) -> list[Key]:
    """Every (part, color, condition) a store on ``provider`` can list, in catalog order."""
    keys = []
    for item in catalog.items.values():
        if item.type != "PART" or (provider == BRICKOWL and item.boid is None):
            continue
        for color_id in item.color_ids:
            if provider == BRICKOWL and catalog.colors[color_id].brickowl_id is None:
                continue
            keys.append((item.no, color_id, "N"))
            keys.append((item.no, color_id, "U"))
    return keys


def _holding(state: SandboxState, store: Store) -> dict[Key, Held]:
    """The (part, color, condition) keys a store's lots have now."""
    provider, account = store
    lots = state.store(provider, account).lots.values()
    held = {}
    for lot in lots:
        key = key_of(state.catalog, provider, lot)
        if key is not None:
            price = lot["unit_price"] if provider == BRICKLINK else lot["price"]
            quantity = lot["quantity"] if provider == BRICKLINK else lot["qty"]
            held[key] = Held(int(quantity), Decimal(price))
    return held


def key_of(catalog: Catalog, provider: str, lot: dict) -> Key | None:
    """A lot's (part, BrickLink color, N/U); None for what is not a part or has no such key."""
    if provider == BRICKLINK:
        if lot["item"]["type"] != "PART":
            return None
        return lot["item"]["no"], lot["color_id"], lot["new_or_used"]
    boid, color_id = brickowl.boid_and_color(lot)
    item, color = catalog.boids.get(boid), catalog.brickowl_colors.get(color_id)
    condition = {"new": "N", "used": "U"}.get(lot["con"])
    if item is None or item.type != "PART" or color is None or condition is None:
        return None
    return item.no, color.color_id, condition


def _quantity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.55:
        return rng.randint(1, 10)
    if roll < 0.85:
        return rng.randint(11, 60)
    if roll < 0.97:
        return rng.randint(61, 400)
    return rng.randint(401, 3000)


def _price(rng: random.Random, catalog: Catalog, key: Key) -> Decimal:
    """About the part's base price (used lots for less), three places, at least a cent."""
    factor = Decimal(str(round(rng.uniform(0.7, 1.4), 3)))
    if key[2] == "U":
        factor *= Decimal("0.6")
    return _cents(catalog.item("PART", key[0]).base_price * factor)


def _shared_lot(rng: random.Random, other: Held) -> Held:
    quantity = other.quantity if rng.random() < SAME_QUANTITY_SHARE else _quantity(rng)
    return Held(quantity, _cents(other.price * Decimal(str(round(rng.uniform(0.9, 1.1), 2)))))


def _cents(amount: Decimal) -> Decimal:
    return max(Decimal("0.01"), amount.quantize(Decimal("0.001"), ROUND_HALF_UP))


def _store_lot(state: SandboxState, store, provider: str, key: Key, lot: Held, rng) -> None:
    """Make the lot as the API's create would, and keep it (no ledger). Caller holds the lock."""
    no, color_id, condition = key
    note = rng.choice(_NOTES) if rng.random() < 0.12 else ""
    place = f"{rng.choice(_PLACES)} {chr(65 + rng.randrange(8))}{rng.randint(1, 40)}"
    remarks = place if rng.random() < 0.5 else ""
    if provider == BRICKLINK:
        body = {
            "item": {"no": no, "type": "PART"},
            "color_id": color_id,
            "quantity": lot.quantity,
            "unit_price": str(lot.price),
            "new_or_used": condition,
            "description": note,
            "remarks": remarks,
        }
        bricklink.store_lot(state, store, bricklink.new_lot(state, body), body, ledger=False)
        return
    catalog = state.catalog
    grades, weights = zip(*_USED_GRADES, strict=True)
    form = {
        "boid": catalog.item("PART", no).boid,
        "color_id": catalog.colors[color_id].brickowl_id,
        "quantity": str(lot.quantity),
        "price": str(lot.price),
        "condition": "new" if condition == "N" else rng.choices(grades, weights)[0],
        "public_note": note,
        "personal_note": remarks,
    }
    brickowl.store_lot(state, store, brickowl.new_lot(state, form), form, ledger=False)
