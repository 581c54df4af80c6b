"""BrickLink's catalog: items, the colors an item comes in, price guides, colors, categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .base import BrickLinkBase
from .parsing import absolute_url, decimal_or_none, integer, mapping, optional_int, plain_text, rows

GUIDE_TYPES = ("stock", "sold")


@dataclass(frozen=True)
class Item:
    no: str
    name: str
    type: str
    category_id: int | None
    alternate_no: str
    image_url: str
    thumbnail_url: str
    weight: Decimal | None
    dim_x: Decimal | None
    dim_y: Decimal | None
    dim_z: Decimal | None
    year_released: int | None
    description: str
    is_obsolete: bool
    language_code: str


@dataclass(frozen=True)
class KnownColor:
    color_id: int
    quantity: int


@dataclass(frozen=True)
class PriceGuidePart:
    """One of the four guides of an item in a color: (new|used) x (stock|sold)."""

    item_no: str
    item_type: str
    color_id: int
    new_or_used: str  # "N" or "U"
    guide_type: str  # "stock" or "sold"
    currency_code: str
    min_price: Decimal
    max_price: Decimal
    avg_price: Decimal
    qty_avg_price: Decimal
    unit_quantity: int
    total_quantity: int


@dataclass(frozen=True)
class FullPriceGuide:
    item_no: str
    color_id: int
    currency_code: str
    new_stock: PriceGuidePart
    new_sold: PriceGuidePart
    used_stock: PriceGuidePart
    used_sold: PriceGuidePart


@dataclass(frozen=True)
class Color:
    color_id: int
    color_name: str
    color_code: str
    color_type: str


@dataclass(frozen=True)
class Category:
    category_id: int
    category_name: str
    parent_id: int


class CatalogCalls(BrickLinkBase):
    def item(self, no: str, item_type: str = "PART") -> Item:
        return self._request(
            "GET",
            "/items/{type}/{no}",
            lambda data: parse_item(mapping(data, "item")),
            path_params={"type": item_type, "no": no},
        )

    def known_colors(self, no: str, item_type: str = "PART") -> list[KnownColor]:
        def parse(data: Any) -> list[KnownColor]:
            return [
                KnownColor(
                    color_id=integer(row, "color_id"), quantity=integer(row, "quantity", default=0)
                )
                for row in rows(data, "known colors")
            ]

        return self._request(
            "GET", "/items/{type}/{no}/colors", parse, path_params={"type": item_type, "no": no}
        )

    def price_guide(
        self,
        no: str,
        *,
        color_id: int,
        new_or_used: str = "N",
        guide_type: str = "stock",
        currency_code: str = "USD",
        vat: str = "N",
        item_type: str = "PART",
    ) -> PriceGuidePart:
        if new_or_used not in ("N", "U") or guide_type not in GUIDE_TYPES:
            raise ValueError("new_or_used must be N or U, guide_type stock or sold")

        def parse(data: Any) -> PriceGuidePart:
            row = mapping(data, "price guide")
            return PriceGuidePart(
                item_no=no,
                item_type=item_type,
                color_id=color_id,
                new_or_used=new_or_used,
                guide_type=guide_type,
                currency_code=str(row.get("currency_code") or currency_code),
                min_price=decimal_or_none(row.get("min_price")) or Decimal(0),
                max_price=decimal_or_none(row.get("max_price")) or Decimal(0),
                avg_price=decimal_or_none(row.get("avg_price")) or Decimal(0),
                qty_avg_price=decimal_or_none(row.get("qty_avg_price")) or Decimal(0),
                unit_quantity=integer(row, "unit_quantity", default=0),
                total_quantity=integer(row, "total_quantity", default=0),
            )

        return self._request(
            "GET",
            "/items/{type}/{no}/price",
            parse,
            path_params={"type": item_type, "no": no},
            params={
                "color_id": color_id,
                "guide_type": guide_type,
                "new_or_used": new_or_used,
                "currency_code": currency_code,
                "vat": vat,
            },
        )

    def full_price_guide(
        self,
        no: str,
        *,
        color_id: int,
        currency_code: str = "USD",
        vat: str = "N",
        item_type: str = "PART",
        known: dict[tuple[str, str], PriceGuidePart] | None = None,
    ) -> FullPriceGuide:
        """All four guides, new/used x stock/sold: one call each, in that order. A guide
        already in ``known`` is not asked again, and each one fetched is put there as it
        arrives, so after a failure the caller holds what it got and a retry asks only for
        the rest (the daily quota counts every call)."""
        guides = known if known is not None else {}
        for new_or_used in ("N", "U"):
            for guide_type in GUIDE_TYPES:
                if (new_or_used, guide_type) not in guides:
                    guides[new_or_used, guide_type] = self.price_guide(
                        no,
                        color_id=color_id,
                        new_or_used=new_or_used,
                        guide_type=guide_type,
                        currency_code=currency_code,
                        vat=vat,
                        item_type=item_type,
                    )
        return FullPriceGuide(
            item_no=no,
            color_id=color_id,
            currency_code=guides["N", "stock"].currency_code,
            new_stock=guides["N", "stock"],
            new_sold=guides["N", "sold"],
            used_stock=guides["U", "stock"],
            used_sold=guides["U", "sold"],
        )

    def colors(self) -> list[Color]:
        def parse(data: Any) -> list[Color]:
            return [
                Color(
                    color_id=integer(row, "color_id"),
                    color_name=plain_text(row.get("color_name")),
                    color_code=str(row.get("color_code") or "").lstrip("#").upper(),
                    color_type=plain_text(row.get("color_type")),
                )
                for row in rows(data, "colors")
            ]

        return self._request("GET", "/colors", parse)

    def categories(self) -> list[Category]:
        def parse(data: Any) -> list[Category]:
            return [
                Category(
                    category_id=integer(row, "category_id"),
                    category_name=plain_text(row.get("category_name")),
                    parent_id=integer(row, "parent_id", default=0),
                )
                for row in rows(data, "categories")
            ]

        return self._request("GET", "/categories", parse)


def parse_item(row: dict[str, Any]) -> Item:
    return Item(
        no=str(row.get("no") or ""),
        name=plain_text(row.get("name")),
        type=str(row.get("type") or ""),
        category_id=optional_int(row.get("category_id")),
        alternate_no=plain_text(row.get("alternate_no")),
        image_url=absolute_url(row.get("image_url")),
        thumbnail_url=absolute_url(row.get("thumbnail_url")),
        weight=decimal_or_none(row.get("weight")),
        dim_x=decimal_or_none(row.get("dim_x")),
        dim_y=decimal_or_none(row.get("dim_y")),
        dim_z=decimal_or_none(row.get("dim_z")),
        year_released=optional_int(row.get("year_released")),
        description=str(row.get("description") or ""),
        is_obsolete=bool(row.get("is_obsolete")),
        language_code=str(row.get("language_code") or ""),
    )
