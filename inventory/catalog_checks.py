"""What the catalog says about an item: read from the catalog's tables, never from BrickLink.

**Checks** -- the item API on a create and on an update that changes the part or the color;
an inventory file importer for all its lots at once (:func:`catalog_check_many`). A check
answers per-field problems:

* ``part_number``: a part BrickLink said does not exist (the catalog's not-found record, while
  it is trusted: ``CATALOG_NOT_FOUND_DAYS``) is refused.
* ``color_id``: an id that is not a BrickLink color is refused once the colors reference list
  has been loaded (an empty list tells nothing); a color the part is not known in is refused
  while the part's known colors are fresh (a stale, expired, never fetched or empty list of
  known colors tells nothing, and the color is accepted).
* A part the catalog has not seen (no details stored, no trusted not-found record) is accepted.
  :func:`catalog_ask_unseen` asks the catalog for it -- a refresh through its outbox,
  deduplicated, at NORMAL priority for a seller's own create or edit and LOW for files and
  takeovers -- so its name arrives; BrickLink is called later by the drain, never here.

**The name** (:func:`item_name` when an item is written, :func:`items_name_fill` when the
catalog stores a part):

* an empty name is the catalog's name of the part, as soon as the catalog has it;
* a name that is the catalog's name of the item's part follows the catalog: when the item's
  part changes (and no name is sent with it) it becomes the new part's name (empty until the
  catalog has it), and when the catalog stores the part under a new name, the items that held
  the old one get the new one;
* any other name is the seller's own and is kept (a name sent with a change is kept as sent,
  unless it is empty).

Filling names when the catalog stores a part is the catalog's doing, not the seller's: one
UPDATE over every account's items of that part, in the transaction that stores the part,
with no history row, no new version and no sync (the marketplaces never get the name).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from catalog.domain import Resource
from catalog.models import Kind, Priority
from catalog.selectors import colors_unknown, part_fresh_colors, part_names, parts_missing
from catalog.services import refresh_enqueue_many
from core import clock

from .models import ChangeType, InventoryItem

Lot = tuple[str, int]  # (part_number, color_id)

# A seller waiting for the name of the item they just wrote; anything else comes in bulk.
SELLER_CHANGES = (ChangeType.CREATE, ChangeType.UPDATE)


def catalog_check_many(lots: Iterable[Lot]) -> dict[Lot, dict[str, str]]:
    """The problems of each ``(part_number, color_id)`` the catalog refuses, by field
    (``part_number``, ``color_id``); a lot it accepts is absent. A few queries, however many
    lots."""
    wanted = set(lots)
    if not wanted:
        return {}
    now = clock.now()
    parts = {part for part, _ in wanted}
    missing = parts_missing(parts, now)
    not_colors = colors_unknown(color for _, color in wanted)
    known_colors = part_fresh_colors(parts - missing, now)
    problems: dict[Lot, dict[str, str]] = {}
    for part, color in wanted:
        errors: dict[str, str] = {}
        if part in missing:
            errors["part_number"] = f"BrickLink has no part {part}."
        if color in not_colors:
            errors["color_id"] = f"{color} is not a BrickLink color."
        elif known_colors.get(part) and color not in known_colors[part]:
            errors["color_id"] = f"Part {part} is not known in color {color}."
        if errors:
            problems[part, color] = errors
    return problems


def catalog_check(*, part_number: str, color_id: int) -> dict[str, str]:
    """The problems the catalog finds with one lot, by field; empty when it accepts it."""
    return catalog_check_many([(part_number, color_id)]).get((part_number, color_id), {})


def item_name(*, name: str, part_number: str, old_part_number: str | None = None) -> str:
    """The name an item of ``part_number`` gets, given the name it would otherwise have (see
    the module's docstring). ``old_part_number``: the part the item had, when this change
    changes it and no name was sent. No query for a name that is plainly the seller's."""
    part_changed = old_part_number is not None and old_part_number != part_number
    if name and not part_changed:
        return name
    names = part_names({part_number, old_part_number} if part_changed else {part_number})
    if name and name != names.get(old_part_number or ""):
        return name  # the seller's own
    return names.get(part_number, "")


def refresh_priority(change_type: str) -> int:
    """How soon an item's unseen part is asked for: NORMAL for a seller's own create or edit,
    LOW (the background share of the quota) for a file or a store takeover."""
    return Priority.NORMAL if change_type in SELLER_CHANGES else Priority.LOW


def catalog_ask_unseen(*, part_numbers: Iterable[str], priority: int = Priority.NORMAL) -> set[str]:
    """Ask the catalog for the parts of ``part_numbers`` it has not seen: one refresh each,
    deduplicated with any already asked (the outbox's drain calls BrickLink, at its pace).
    Answers the parts asked for. Inside the caller's transaction: rolled back with it."""
    wanted = set(part_numbers)
    unseen = wanted - set(part_names(wanted))
    if unseen:
        unseen -= parts_missing(unseen, clock.now())
    if unseen:
        refresh_enqueue_many(
            resources=[Resource(Kind.PART, no) for no in sorted(unseen)],
            priority=priority,
            drop_cached=False,  # a part with no details has no cached read
        )
    return unseen


def items_name_fill(*, no: str, name: str, previous_name: str | None) -> int:
    """Give every account's items of part ``no`` the catalog's ``name``: those with no name,
    and those that still hold the catalog's ``previous_name``. One UPDATE; answers how many
    items changed."""
    holding = Q(name="")
    if previous_name:
        holding |= Q(name=previous_name)
    items = InventoryItem.objects.filter(holding, part_number=no).exclude(name=name)
    return items.update(name=name)


def on_part_stored(sender: Any, *, no: str, name: str, previous_name: str | None, **_: Any) -> None:
    """Receiver of ``catalog.signals.part_stored`` (connected in ``InventoryConfig.ready``)."""
    items_name_fill(no=no, name=name, previous_name=previous_name)
