"""Importing an inventory file into an account: every lot is validated before any is written,
then all are written, in one transaction, or none.

The file's format is told by its content, not its name: XML whose root is ``<INVENTORY>`` is
BrickLink's, ``<BrickStoreXML>`` (or ``<BrickStockXML>``) BrickStore's; text whose first line
is a header naming ``part_number`` is our CSV. Each lot is checked by the item API's own rules
(``ItemCreateSerializer``, and the catalog's check of the part and color in
``inventory.catalog_checks``), and a bad one is named by its index (its position among the file's
lots, from 0) with what is wrong with it.

Modes, precisely:

* ``add``: every lot is a new item.
* ``merge``: a lot is matched to the account's live (not archived) item with the same
  ``part_number``, ``color_id`` and ``condition`` -- the oldest one, when there are several.
  No match: the lot is a new item (and later lots of the file with the same part, color and
  condition merge into it). A match: the lot's quantity is **added** to the item's
  ``quantity_available``, and the price, notes and location the lot gives (tags or columns
  present) **replace** the item's; what the lot does not give is left as it is. The item's
  name, status, reserved and sold quantities are never changed by a merge.

Every lot is counted once: ``created`` (it made an item), ``updated`` (it changed an item,
one of the account's or one an earlier lot made), ``unchanged`` (it matched an item and
changed nothing, e.g. a quantity of 0 with the same price). Items are written through the
item services, so each change has its history (``change_type`` ``import``) and is synced to
the marketplaces after commit; the syncs of the whole file are scheduled as one batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from accounts.models import Account, User

from .. import services
from ..api.serializers import MAX_INT, ItemCreateSerializer
from ..catalog_checks import catalog_check_many
from ..lots.bricklink import MARKER
from ..models import ChangeType, Condition, InventoryItem
from ..scheduling import sync_batch
from . import bricklink_xml, bsx, csvfile
from .base import Format, RawLot, UnknownFormat
from .xmlsafe import read_xml

MERGE, ADD = "merge", "add"
MODES = (MERGE, ADD)
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 4096
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
CONDITIONS = {
    "n": Condition.NEW,
    "new": Condition.NEW,
    "u": Condition.USED,
    "used": Condition.USED,
}
REQUIRED_FIELDS = ("part_number", "color_id", "condition", "quantity_available")
# What a merge replaces on a matched item, when the lot gives it (the quantity is added).
MERGED_FIELDS = ("price", "notes", "location")
SNAPSHOT_FIELDS = ("quantity_available", *MERGED_FIELDS)
NEW_ITEM = {"quantity_available": 0, "price": 0, "notes": "", "location": ""}

Key = tuple[str, int, str]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


class InvalidLots(Exception):
    """Some lots are invalid: nothing was written. ``report`` names them (and counts what the
    valid ones would have done)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} invalid lots")
        self.report = report


@dataclass(frozen=True)
class Lot:
    index: int
    data: dict[str, Any]  # the fields the file gives, validated

    @property
    def key(self) -> Key:
        return (self.data["part_number"], self.data["color_id"], self.data["condition"])


@dataclass(frozen=True)
class Step:
    lot: Lot
    outcome: str  # created | updated | unchanged
    data: dict[str, Any]  # a new item's fields, or an update's changed fields


def read_lots(upload: IO[bytes]) -> tuple[Format, Iterator[RawLot]]:
    """The file's format, from its first bytes, and its lots (read lazily)."""
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    start = head.removeprefix(BOM).lstrip()
    if start.startswith(b"<"):
        layout, lots = read_xml(upload, [bricklink_xml.LAYOUT, bsx.LAYOUT])
        return layout.format, lots
    if csvfile.is_header(start.split(b"\n", 1)[0].decode("utf-8", "replace")):
        return csvfile.FORMAT, csvfile.read(upload)
    raise UnknownFormat(
        "Not an inventory file: expected a BrickLink XML inventory, a BrickStore .bsx file, "
        "or a CSV whose header names part_number, color_id, condition and quantity_available."
    )


def shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def whole_number(text: str, label: str, problems: list[str], *, quantity: bool) -> int | None:
    text = text.strip()
    if not text:
        problems.append(f"{label}: missing")
        return None
    if not WHOLE_NUMBER.fullmatch(text) or len(text) > 20:
        problems.append(f"{label}: {shown(text)} is not a whole number")
        return None
    number = int(text)
    if number < 0:
        what = "a quantity" if quantity else "a color id"
        problems.append(f"{label}: {text} is negative ({what} is a whole number >= 0)")
        return None
    return number


def validate(
    raw: RawLot, fmt: Format, checker: ItemCreateSerializer
) -> tuple[Lot | None, str | None]:
    """The lot, or what is wrong with it (every problem, in one message). ``checker`` is the
    item API's serializer (one for the whole file: its rules, without building one a lot)."""
    problems = list(raw.problems)
    values, label = raw.values, fmt.label
    data: dict[str, Any] = {}
    item_type = values.get("item_type", "").strip()
    if item_type and item_type.upper() != "P":
        problems.append(
            f"{label('item_type')}: only parts (P) can be imported, not {shown(item_type)}"
        )
    part_number = values.get("part_number", "").strip()
    if part_number:
        data["part_number"] = part_number
    else:
        problems.append(f"{label('part_number')}: missing (the part number)")
    for name in ("color_id", "quantity_available"):
        number = whole_number(
            values.get(name, ""), label(name), problems, quantity=name != "color_id"
        )
        if number is not None:
            data[name] = number
    condition = values.get("condition", "").strip()
    if condition.lower() in CONDITIONS:
        data["condition"] = CONDITIONS[condition.lower()]
    elif condition:
        problems.append(f"{label('condition')}: unknown condition {shown(condition)} (N or U)")
    else:
        problems.append(f"{label('condition')}: missing (N or U)")
    if values.get("price", "").strip():
        data["price"] = values["price"].strip()
    for name in ("name", "notes", "location"):
        if name in values:
            data[name] = values[name]
    if "location" in data:  # another item's sync marker would make its lot look like this one's
        data["location"] = MARKER.sub("", data["location"])
    try:
        validated = checker.run_validation(data)
    except ValidationError as exc:
        validated = {}
        detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
        for name, messages in detail.items():
            if name in REQUIRED_FIELDS and name not in data:
                continue  # already told: missing, or not a number
            text = " ".join(str(message) for message in messages)
            problems.append(f"{label(name)}: {text}" if name in data else text)
    if problems:
        return None, "; ".join(problems)
    return Lot(raw.index, {name: validated[name] for name in data}), None


def catalog_checked(lots: list[Lot], fmt: Format, errors: list[dict[str, Any]]) -> list[Lot]:
    """The lots the catalog accepts; the others are added to ``errors``. The item API's
    catalog check (a part BrickLink said does not exist, a color the part is known not to come
    in), for the whole file in a few queries."""
    refused = catalog_check_many({(lot.data["part_number"], lot.data["color_id"]) for lot in lots})
    if not refused:
        return lots
    accepted = []
    for lot in lots:
        problems = refused.get((lot.data["part_number"], lot.data["color_id"]))
        if problems:
            message = "; ".join(f"{fmt.label(name)}: {text}" for name, text in problems.items())
            errors.append({"index": lot.index, "message": message})
        else:
            accepted.append(lot)
    return accepted


def current_items(account: Account, lots: list[Lot], *, lock: bool) -> dict[Key, InventoryItem]:
    """The account's live items a merge may match, by part, color and condition (the oldest
    of several). ``lock``: held until the transaction ends, so nothing changes under it."""
    parts = sorted({lot.data["part_number"] for lot in lots})
    items = InventoryItem.objects.filter(
        account=account, archived=False, part_number__in=parts
    ).order_by("id")
    if lock:
        items = items.select_for_update()
    found: dict[Key, InventoryItem] = {}
    for item in items:
        found.setdefault((item.part_number, item.color_id, item.condition), item)
    return found


def plan(
    lots: list[Lot], mode: str, items: dict[Key, InventoryItem], fmt: Format
) -> tuple[list[Step], list[dict[str, Any]]]:
    """What each lot does (see the module's docstring), and the lots that cannot be done."""
    current = {
        key: {name: getattr(item, name) for name in SNAPSHOT_FIELDS} for key, item in items.items()
    }
    steps: list[Step] = []
    errors: list[dict[str, Any]] = []
    for lot in lots:
        held = current.get(lot.key) if mode == MERGE else None
        if held is None:
            steps.append(Step(lot, CREATED, lot.data))
            current[lot.key] = {**NEW_ITEM, **lot.data}
            continue
        quantity = held["quantity_available"] + lot.data["quantity_available"]
        if quantity > MAX_INT:
            label = fmt.label("quantity_available")
            errors.append(
                {"index": lot.index, "message": f"{label}: the item would hold more than {MAX_INT}"}
            )
            continue
        wanted = {
            "quantity_available": quantity,
            **{name: lot.data[name] for name in MERGED_FIELDS if name in lot.data},
        }
        changes = {name: value for name, value in wanted.items() if held[name] != value}
        steps.append(Step(lot, UPDATED if changes else UNCHANGED, changes))
        held.update(changes)
    return steps, errors


def report_of(steps: list[Step], errors: list[dict[str, Any]]) -> ImportReport:
    report = ImportReport(errors=sorted(errors, key=lambda error: error["index"]))
    for step in steps:
        setattr(report, step.outcome, getattr(report, step.outcome) + 1)
    return report


def write(
    *, account: Account, actor: User | None, steps: list[Step], items: dict, reason: str
) -> None:
    """Inside the import's transaction, with the matched items locked."""
    with sync_batch():
        creates = [step for step in steps if step.outcome == CREATED]
        made = services.items_create_many(
            account=account,
            actor=actor,
            datas=[step.data for step in creates],
            change_type=ChangeType.IMPORT,
            reason=reason,
        )
        for step, item in zip(creates, made, strict=True):
            items[step.lot.key] = item
        for step in steps:
            key = step.lot.key
            if step.outcome == UPDATED:
                items[key] = services.item_update(
                    item=items[key],
                    actor=actor,
                    data=step.data,
                    reason=reason,
                    change_type=ChangeType.IMPORT,
                )


def inventory_import(
    *,
    account: Account,
    actor: User | None,
    upload: IO[bytes],
    filename: str = "",
    mode: str = MERGE,
    dry_run: bool = False,
) -> ImportReport:
    """Import the file's lots into the account (see the module's docstring). Answers the
    report; ``dry_run``: the report, with every invalid lot named, and nothing written.

    Raises ``base.FileRejected`` (the file as a whole) or ``InvalidLots`` (some of its lots):
    nothing was written."""
    if mode not in MODES:
        raise ValueError(f"unknown import mode {mode!r}")
    fmt, reader = read_lots(upload)
    raw_lots = list(reader)  # the whole file is read (and its size checked) before any check
    checker = ItemCreateSerializer()
    lots: list[Lot] = []
    errors: list[dict[str, Any]] = []
    for raw in raw_lots:
        lot, problem = validate(raw, fmt, checker)
        if lot is None:
            errors.append({"index": raw.index, "message": problem})
        else:
            lots.append(lot)
    lots = catalog_checked(lots, fmt, errors)
    merge = mode == MERGE
    if dry_run or errors:
        items = current_items(account, lots, lock=False) if merge else {}
        steps, plan_errors = plan(lots, mode, items, fmt)
        report = report_of(steps, errors + plan_errors)
        if report.errors and not dry_run:
            raise InvalidLots(report)
        return report
    with transaction.atomic():
        items = current_items(account, lots, lock=True) if merge else {}
        steps, plan_errors = plan(lots, mode, items, fmt)
        report = report_of(steps, plan_errors)
        if plan_errors:
            raise InvalidLots(report)
        reason = f"{fmt.title} import ({mode})" + (f" of {filename}" if filename else "")
        write(account=account, actor=actor, steps=steps, items=items, reason=reason)
    return report
