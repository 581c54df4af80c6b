"""A store's lots: list (by external id or lot id), create, update (absolute), delete."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .base import BrickOwlBase
from .decode import success
from .parsing import (
    decimal,
    integer,
    malformed,
    mapping,
    optional_integer,
    price_text,
    split_boid,
)

CONDITIONS = frozenset(
    {"new", "news", "newc", "newi", "usedc", "usedi", "usedn", "usedg", "useda", "other"}
)


@dataclass(frozen=True)
class OwlLot:
    lot_id: str
    boid: str
    color_id: int | None
    quantity: int
    price: Decimal
    condition: str
    for_sale: bool
    external_ids: dict[str, str]
    type: str
    public_note: str = ""
    personal_note: str = ""

    @property
    def external_id(self) -> str | None:
        """The id we gave the lot on creation (BrickOwl files it under ``other``)."""
        return self.external_ids.get("other")


@dataclass(frozen=True)
class NewOwlLot:
    """What a lot is created with: ``inventory/create``'s form, checked before any call."""

    boid: str
    color_id: int
    quantity: int
    price: Decimal
    condition: str
    external_id: str
    public_note: str = ""
    personal_note: str = ""

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError("BrickOwl lots are created with a quantity above 0")
        if self.condition not in CONDITIONS:
            raise ValueError(f"unknown BrickOwl condition {self.condition!r}")

    def as_form(self) -> dict[str, Any]:
        return {
            "boid": self.boid,
            "color_id": self.color_id,
            "quantity": self.quantity,
            "price": price_text(self.price),
            "condition": self.condition,
            "external_id": self.external_id,
            **({"public_note": self.public_note} if self.public_note else {}),
            **({"personal_note": self.personal_note} if self.personal_note else {}),
        }


@dataclass(frozen=True)
class OwlLotUpdate:
    """A change to the lot found by exactly one of ``lot_id`` / ``external_id``. The quantity
    is absolute, so sending it again is harmless."""

    lot_id: str | None = None
    external_id: str | None = None
    absolute_quantity: int | None = None
    price: Decimal | None = None
    for_sale: bool | None = None
    public_note: str | None = None
    personal_note: str | None = None

    def __post_init__(self) -> None:
        lot_selector(self.lot_id, self.external_id)
        if self.absolute_quantity is not None and self.absolute_quantity < 0:
            raise ValueError("quantity cannot be negative")

    def as_form(self) -> dict[str, Any]:
        form = lot_selector(self.lot_id, self.external_id)
        if self.absolute_quantity is not None:
            form["absolute_quantity"] = self.absolute_quantity
        if self.price is not None:
            form["price"] = price_text(self.price)
        if self.for_sale is not None:
            form["for_sale"] = int(self.for_sale)
        if self.public_note is not None:
            form["public_note"] = self.public_note
        if self.personal_note is not None:
            form["personal_note"] = self.personal_note
        return form


class InventoryCalls(BrickOwlBase):
    def inventory_list(
        self, *, external_id: str | None = None, lot_id: str | None = None
    ) -> list[OwlLot]:
        params: dict[str, Any] = {}
        if external_id is not None:
            params["external_id_1"] = external_id
        if lot_id is not None:
            params["lot_id"] = lot_id

        def parse(data: Any) -> list[OwlLot]:
            if not isinstance(data, list):
                raise malformed("inventory list is not a list")
            return [parse_lot(mapping(row, "lot")) for row in data]

        return self._get("/inventory/list", parse, params)

    def inventory_create(
        self,
        *,
        boid: str,
        color_id: int,
        quantity: int,
        price: Decimal,
        condition: str,
        external_id: str,
        public_note: str = "",
        personal_note: str = "",
    ) -> str:
        """Create a lot and answer its ``lot_id``. Look it up by ``external_id`` first: BrickOwl
        happily creates a second lot with the same external id."""
        lot = NewOwlLot(
            boid=boid,
            color_id=color_id,
            quantity=quantity,
            price=price,
            condition=condition,
            external_id=external_id,
            public_note=public_note,
            personal_note=personal_note,
        )
        return self._post("/inventory/create", created_lot_id, lot.as_form())

    def inventory_update(
        self,
        *,
        lot_id: str | None = None,
        external_id: str | None = None,
        absolute_quantity: int | None = None,
        price: Decimal | None = None,
        for_sale: bool | None = None,
        public_note: str | None = None,
        personal_note: str | None = None,
    ) -> None:
        """Change a lot found by exactly one of ``lot_id`` / ``external_id``. The quantity is
        absolute, so replaying an update is harmless."""
        update = OwlLotUpdate(
            lot_id=lot_id,
            external_id=external_id,
            absolute_quantity=absolute_quantity,
            price=price,
            for_sale=for_sale,
            public_note=public_note,
            personal_note=personal_note,
        )
        self._post("/inventory/update", success, update.as_form())

    def inventory_delete(
        self, *, lot_id: str | None = None, external_id: str | None = None
    ) -> None:
        self._post("/inventory/delete", success, lot_selector(lot_id, external_id))


def lot_selector(lot_id: str | None, external_id: str | None) -> dict[str, Any]:
    """The form naming one lot: exactly one of ``lot_id`` / ``external_id``."""
    if (lot_id is None) == (external_id is None):
        raise ValueError("give exactly one of lot_id and external_id")
    return {"lot_id": lot_id} if lot_id is not None else {"external_id": external_id}


def created_lot_id(data: Any) -> str:
    """The ``lot_id`` of a confirmed ``inventory/create``."""
    lot_id = success(data).get("lot_id")
    if lot_id in (None, ""):
        raise malformed("created lot has no lot_id")
    return str(lot_id)


def parse_lot(row: dict[str, Any]) -> OwlLot:
    """A listed lot. Its ``boid`` carries the color (``"306255-64"``) and there is no
    ``color_id`` field: split it back; a ``color_id`` field, when there is one, wins."""
    external = row.get("external_lot_ids")
    boid, suffix_color = split_boid(row.get("boid"))
    color = optional_integer(row.get("color_id"), "color_id")
    return OwlLot(
        lot_id=str(row.get("lot_id") or ""),
        boid=boid,
        color_id=suffix_color if color is None else color,
        quantity=integer(row.get("qty", 0), "qty"),
        price=decimal(row.get("price"), "price"),
        # The full code (usedn) is what a create sends; con is only new/used/other.
        condition=str(row.get("full_con") or row.get("con") or ""),
        for_sale=str(row.get("for_sale", "1")) == "1",
        external_ids={str(k): str(v) for k, v in external.items()}
        if isinstance(external, dict)
        else {},
        type=str(row.get("type") or ""),
        public_note=str(row.get("public_note") or ""),
        personal_note=str(row.get("personal_note") or ""),
    )
