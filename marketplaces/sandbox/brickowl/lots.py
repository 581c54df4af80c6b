"""A lot: made from ``inventory/create``'s form, kept in a store, found, changed.

A lot is kept as ``inventory/list`` shows it: its ``boid`` carries the color
(``"306255-64"``) and there is no ``color_id`` field; ``external_lot_ids`` is
``{"other": ...}``, or ``[]`` when empty (PHP's empty array). ``control`` uses these too, to
change a store behind the API's back.
"""

from __future__ import annotations

from typing import Any

from marketplaces.sandbox.accounts import BRICKOWL, BrickOwlAccount
from marketplaces.sandbox.state import SandboxState

from .call import BrickOwlError, bad
from .values import CONDITIONS, for_sale, integer, price_text


def new_lot(state: SandboxState, form: dict[str, str]) -> dict:
    """A lot from ``inventory/create``'s form, validated; the lot id comes later."""
    catalog = state.catalog
    item = catalog.boids.get(form.get("boid", ""))
    if item is None:
        raise bad(f"Unknown boid {form.get('boid')!r}")
    color_id = form.get("color_id", "")
    # Sets and minifigs need no color; a part always does.
    if (item.type == "PART" or color_id) and color_id not in catalog.brickowl_colors:
        raise bad(f"Unknown color_id {color_id!r}")
    quantity = integer(form.get("quantity"), "quantity")
    if quantity <= 0:
        raise bad("quantity must be greater than 0")
    if "price" not in form:
        raise bad("Missing price")
    condition = form.get("condition", "")
    if condition not in CONDITIONS:
        raise bad(f"Invalid condition {condition!r}; one of {', '.join(CONDITIONS)}")
    con, full_con = CONDITIONS[condition], condition
    external = form.get("external_id", "")
    return {
        "con": con,
        "full_con": full_con,
        "qty": str(quantity),
        "lot_id": "",
        "price": price_text(form["price"]),
        "for_sale": for_sale(form.get("for_sale", "1")),
        "boid": f"{item.boid}-{color_id}" if color_id else item.boid,
        "external_lot_ids": external_ids(external),
        "type": item.brickowl_type,
        "public_note": form.get("public_note", ""),
        "personal_note": form.get("personal_note", ""),
    }


def store_lot(
    state: SandboxState, account: BrickOwlAccount, lot: dict, sent: dict, *, ledger: bool = True
) -> dict:
    """Give ``lot`` an id and keep it; write the ledger unless told. Caller holds the lock."""
    lot["lot_id"] = state.new_brickowl_lot_id()
    account.lots[lot["lot_id"]] = lot
    if not ledger:
        return lot
    state.record(
        provider=BRICKOWL,
        account=account.key,
        op="create",
        lot_id=lot["lot_id"],
        fields=sent,
        before=0,
        after=int(lot["qty"]),
    )
    return lot


def external_ids(external: str) -> dict[str, str] | list:
    """``external_lot_ids`` as BrickOwl shows it: ``[]`` when there is none."""
    return {"other": external} if external else []


def external_id_of(lot: dict) -> str | None:
    ids = lot["external_lot_ids"]
    return ids.get("other") if isinstance(ids, dict) else None


def boid_and_color(lot: dict) -> tuple[str, str]:
    """The item's BOID and the BrickOwl color id (``""`` for none) of a kept lot."""
    item, dash, color = lot["boid"].rpartition("-")
    return (item, color) if dash else (lot["boid"], "")


def sent_fields(form: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in form.items() if key != "key"}


def find_lot(account: BrickOwlAccount, form: dict[str, str]) -> dict:
    """The lot named by exactly one of ``lot_id`` / ``external_id``. Caller holds the lock."""
    has_lot_id, has_external = "lot_id" in form, "external_id" in form
    if has_lot_id == has_external:
        raise bad("Exactly one of lot_id and external_id is required")
    if has_lot_id:
        lot = account.lots.get(form["lot_id"])
    else:
        lot = next(
            (
                account.lots[key]
                for key in sorted(account.lots, key=int)
                if external_id_of(account.lots[key]) == form["external_id"]
            ),
            None,
        )
    if lot is None:
        raise BrickOwlError(404, "Lot not found")
    return lot


def lot_changes(lot: dict, form: dict[str, str]) -> dict[str, Any]:
    """What ``inventory/update`` asks of ``lot``, validated but not applied."""
    changes: dict[str, Any] = {}
    if "absolute_quantity" in form and "relative_quantity" in form:
        raise bad("Send absolute_quantity or relative_quantity, not both")
    if "absolute_quantity" in form:
        after = integer(form["absolute_quantity"], "absolute_quantity")
    elif "relative_quantity" in form:
        after = int(lot["qty"]) + integer(form["relative_quantity"], "relative_quantity")
    else:
        after = int(lot["qty"])
    if after < 0:
        raise bad("The quantity cannot go below 0")
    changes["qty"] = str(after)
    if "price" in form:
        changes["price"] = price_text(form["price"])
    if "for_sale" in form:
        changes["for_sale"] = for_sale(form["for_sale"])
    for note in ("public_note", "personal_note"):
        if note in form:
            changes[note] = form[note]
    return changes
