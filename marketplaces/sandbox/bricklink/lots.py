"""A lot: made from a POST body, kept in a store, changed by a PUT body.

``control`` uses these too, to change a store behind the API's back.
"""

from __future__ import annotations

from typing import Any

from marketplaces.sandbox.accounts import BRICKLINK, BrickLinkAccount
from marketplaces.sandbox.catalog import Catalog, Item
from marketplaces.sandbox.state import SandboxState, iso_now

from .envelope import BrickLinkError, invalid
from .values import integer, optional_fields, quantity_delta


def _catalog_item(catalog: Catalog, raw: Any) -> Item:
    if not isinstance(raw, dict) or not raw.get("no") or not raw.get("type"):
        raise invalid("item must be an object with no and type")
    item = catalog.item(str(raw["type"]).upper(), str(raw["no"]))
    if item is None:
        raise invalid(f"Item not found in the catalog: {raw['type']} {raw['no']}")
    return item


def new_lot(state: SandboxState, body: Any) -> dict:
    """A lot from a POST body, validated; ``inventory_id`` is filled in by the caller."""
    if not isinstance(body, dict):
        raise BrickLinkError(400, "INVALID_REQUEST_BODY", "A lot must be a JSON object")
    catalog = state.catalog
    item = _catalog_item(catalog, body.get("item"))
    if "color_id" not in body and item.type != "PART":
        color_id = 0
    else:
        color_id = integer(body.get("color_id"), "color_id")
    color = catalog.colors.get(color_id)
    if color is None:
        raise invalid(f"Unknown color_id {color_id}")
    if "quantity" not in body:
        raise invalid("quantity is required")
    quantity = integer(body["quantity"], "quantity", minimum=1)
    if body.get("new_or_used") not in ("N", "U"):
        raise invalid("new_or_used must be N or U")
    if "unit_price" not in body:
        raise invalid("unit_price is required")
    lot: dict[str, Any] = {
        "inventory_id": 0,
        "item": {
            "no": item.no,
            "name": item.name,
            "type": item.type,
            "category_id": item.category_id,
        },
        "color_id": color_id,
        "color_name": color.name,
        "quantity": quantity,
        "new_or_used": body["new_or_used"],
        "unit_price": "0.0000",
        "description": "",
        "remarks": "",
        "bulk": 1,
        "is_retain": False,
        "is_stock_room": False,
        "stock_room_id": "",
        "date_created": "",
        "my_cost": "0.0000",
        "sale_rate": 0,
        "tier_quantity1": 0,
        "tier_price1": "0.0000",
        "tier_quantity2": 0,
        "tier_price2": "0.0000",
        "tier_quantity3": 0,
        "tier_price3": "0.0000",
    }
    if item.type == "SET":
        completeness = body.get("completeness", "C")
        if completeness not in ("C", "B", "S"):
            raise invalid("completeness must be C, B or S")
        lot["completeness"] = completeness
    lot.update(optional_fields(body))
    return lot


def store_lot(
    state: SandboxState, account: BrickLinkAccount, lot: dict, sent: Any, *, ledger: bool = True
) -> dict:
    """Give ``lot`` an id and keep it; write the ledger unless told. Caller holds the lock."""
    lot["inventory_id"] = state.new_inventory_id()
    lot["date_created"] = iso_now()
    account.lots[lot["inventory_id"]] = lot
    if not ledger:
        return lot
    state.record(
        provider=BRICKLINK,
        account=account.consumer_key,
        op="create",
        lot_id=lot["inventory_id"],
        fields=sent,
        before=0,
        after=lot["quantity"],
    )
    return lot


def lot_update(lot: dict, body: dict) -> dict[str, Any]:
    """The changes a PUT body asks of ``lot``, validated but not applied."""
    if "item" in body:
        sent = body["item"] if isinstance(body["item"], dict) else {}
        same_no = str(sent.get("no", lot["item"]["no"])) == lot["item"]["no"]
        same_type = str(sent.get("type", lot["item"]["type"])).upper() == lot["item"]["type"]
        if not (same_no and same_type):
            raise _update_not_allowed("item")
    for name in ("color_id", "new_or_used"):
        if name in body and body[name] != lot[name]:
            raise _update_not_allowed(name)
    changes = optional_fields(body)
    if "completeness" in body and "completeness" in lot:
        if body["completeness"] not in ("C", "B", "S"):
            raise invalid("completeness must be C, B or S")
        changes["completeness"] = body["completeness"]
    if "quantity" in body:
        after = lot["quantity"] + quantity_delta(body["quantity"])
        if after < 0:
            raise invalid(
                f"quantity would go below 0 ({lot['quantity']} {body['quantity']}); "
                "quantity is a delta"
            )
        changes["quantity"] = after
    return changes


def _update_not_allowed(name: str) -> BrickLinkError:
    return BrickLinkError(
        422, "RESOURCE_UPDATE_NOT_ALLOWED", f"{name} of an inventory cannot be changed"
    )
