"""A store's lots, one at a time: list, read, create, update (the quantity is a delta), delete."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .base import BrickLinkBase
from .parsing import decimal_or_none, integer, mapping, money, plain_text, rows

# A store's whole inventory comes in one unpaginated answer.
INVENTORY_MAX_BYTES = 256 * 1024 * 1024
CONDITIONS = {"new": "N", "used": "U"}


@dataclass(frozen=True)
class Lot:
    inventory_id: int
    item_no: str
    item_type: str
    item_name: str
    color_id: int
    color_name: str
    quantity: int
    new_or_used: str
    unit_price: Decimal
    description: str
    remarks: str
    is_stock_room: bool
    date_created: str


@dataclass(frozen=True)
class NewLot:
    """What a lot is created with."""

    item_no: str
    color_id: int
    quantity: int
    new_or_used: str  # "N" or "U"
    unit_price: Decimal
    item_type: str = "PART"
    description: str = ""
    remarks: str = ""
    is_retain: bool = False
    is_stock_room: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "item": {"no": self.item_no, "type": self.item_type},
            "color_id": self.color_id,
            "quantity": self.quantity,
            "unit_price": money(self.unit_price),
            "new_or_used": self.new_or_used,
            "description": self.description,
            "remarks": self.remarks,
            "is_retain": self.is_retain,
            "is_stock_room": self.is_stock_room,
        }


class InventoryCalls(BrickLinkBase):
    def inventory_list(self) -> list[Lot]:
        """Every lot of the store (BrickLink does not paginate)."""
        return self._request(
            "GET",
            "/inventories",
            lambda data: [parse_lot(row) for row in rows(data, "inventory")],
            max_bytes=INVENTORY_MAX_BYTES,
        )

    def inventory_get(self, inventory_id: int) -> Lot:
        return self._request(
            "GET",
            "/inventories/{id}",
            lambda data: parse_lot(mapping(data, "lot")),
            path_params={"id": inventory_id},
        )

    def inventory_create(self, lot: NewLot) -> Lot:
        return self._request(
            "POST",
            "/inventories",
            lambda data: parse_lot(mapping(data, "created lot")),
            json=lot.as_json(),
        )

    def inventory_update(
        self,
        inventory_id: int,
        *,
        description: str,
        quantity_delta: int = 0,
        unit_price: Decimal | None = None,
        remarks: str | None = None,
    ) -> Lot:
        """Change a lot. ``quantity_delta`` is added to BrickLink's quantity (a PUT's quantity
        is a delta); zero sends no quantity at all. ``description`` is always sent: since
        Feb 2024 a PUT without it fails."""
        body: dict[str, Any] = {"description": description}
        if quantity_delta:
            body["quantity"] = f"{quantity_delta:+d}"
        if unit_price is not None:
            body["unit_price"] = money(unit_price)
        if remarks is not None:
            body["remarks"] = remarks
        return self._request(
            "PUT",
            "/inventories/{id}",
            lambda data: parse_lot(mapping(data, "updated lot")),
            path_params={"id": inventory_id},
            json=body,
        )

    def inventory_delete(self, inventory_id: int) -> None:
        self._request(
            "DELETE", "/inventories/{id}", lambda data: None, path_params={"id": inventory_id}
        )


def parse_lot(row: dict[str, Any]) -> Lot:
    item = row.get("item") if isinstance(row.get("item"), dict) else {}
    return Lot(
        inventory_id=integer(row, "inventory_id"),
        item_no=str(item.get("no") or ""),
        item_type=str(item.get("type") or ""),
        item_name=plain_text(item.get("name")),
        color_id=integer(row, "color_id", default=0),
        color_name=plain_text(row.get("color_name")),
        quantity=integer(row, "quantity", default=0),
        new_or_used=str(row.get("new_or_used") or ""),
        unit_price=decimal_or_none(row.get("unit_price")) or Decimal(0),
        description=plain_text(row.get("description")),
        remarks=plain_text(row.get("remarks")),
        is_stock_room=bool(row.get("is_stock_room")),
        date_created=str(row.get("date_created") or ""),
    )
