"""Storing what BrickLink answered: one upsert per resource, each with its fetch time. A part
that answers is no longer missing. A stored part is announced (``catalog.signals.part_stored``,
in the same transaction) so the inventory can give its items the part's name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from catalog.domain import Resource, is_printed, item_type_of
from catalog.models import Kind, MissingPart, Part, PartColor, PartColorList, PriceGuide
from catalog.signals import part_stored
from marketplaces.bricklink import FullPriceGuide, Item, KnownColor


def part_upsert(*, no: str, item: Item, fetched_at: datetime) -> None:
    fields = {
        "name": item.name[:500],
        "type": item.type or item_type_of(no),
        "category_id": item.category_id,
        "image_url": item.image_url[:500],
        "thumbnail_url": item.thumbnail_url[:500],
        "weight_g": item.weight,
        "dim_x": item.dim_x,
        "dim_y": item.dim_y,
        "dim_z": item.dim_z,
        "year_released": item.year_released,
        "is_obsolete": item.is_obsolete,
        "is_printed": is_printed(no, item.name),
        "alternate_no": item.alternate_no[:200],
        "description": item.description,
        "last_fetched": fetched_at,
    }
    with transaction.atomic():  # the part and what its receivers write commit together
        previous_name = Part.objects.filter(no=no).values_list("name", flat=True).first()
        Part.objects.bulk_create(
            [Part(no=no, **fields)],
            update_conflicts=True,
            unique_fields=["no"],
            update_fields=list(fields),
        )
        MissingPart.objects.filter(no=no).delete()
        part_stored.send(sender=Part, no=no, name=fields["name"], previous_name=previous_name)


def part_colors_upsert(*, no: str, colors: list[KnownColor], fetched_at: datetime) -> None:
    PartColorList.objects.bulk_create(
        [PartColorList(no=no, last_fetched=fetched_at)],
        update_conflicts=True,
        unique_fields=["no"],
        update_fields=["last_fetched"],
    )
    keep = {color.color_id for color in colors}
    PartColor.objects.filter(color_list_id=no).exclude(color_id__in=keep).delete()
    PartColor.objects.bulk_create(
        [PartColor(color_list_id=no, color_id=c.color_id, quantity=c.quantity) for c in colors],
        update_conflicts=True,
        unique_fields=["color_list", "color_id"],
        update_fields=["quantity"],
    )
    MissingPart.objects.filter(no=no).delete()


def price_guide_upsert(*, no: str, guide: FullPriceGuide, fetched_at: datetime) -> None:
    rows = [
        PriceGuide(
            no=no,
            color_id=guide.color_id,
            new_or_used=part.new_or_used,
            guide_type=part.guide_type,
            currency_code=guide.currency_code,
            min_price=part.min_price,
            max_price=part.max_price,
            avg_price=part.avg_price,
            qty_avg_price=part.qty_avg_price,
            unit_quantity=part.unit_quantity,
            total_quantity=part.total_quantity,
            last_fetched=fetched_at,
        )
        for part in (guide.new_stock, guide.new_sold, guide.used_stock, guide.used_sold)
    ]
    PriceGuide.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["no", "color_id", "currency_code", "new_or_used", "guide_type"],
        update_fields=[
            "min_price",
            "max_price",
            "avg_price",
            "qty_avg_price",
            "unit_quantity",
            "total_quantity",
            "last_fetched",
        ],
    )
    MissingPart.objects.filter(no=no).delete()


def upsert(resource: Resource, payload: Any, fetched_at: datetime) -> None:
    if resource.kind == Kind.PART:
        part_upsert(no=resource.no, item=payload, fetched_at=fetched_at)
    elif resource.kind == Kind.PART_COLORS:
        part_colors_upsert(no=resource.no, colors=payload, fetched_at=fetched_at)
    else:
        price_guide_upsert(no=resource.no, guide=payload, fetched_at=fetched_at)
