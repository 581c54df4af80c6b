"""BrickStore's ``.bsx`` format (BrickStore, BrickStock and BrickSync write it).

``<BrickStoreXML>`` (or BrickStock's ``<BrickStockXML>``) > ``<Inventory>`` > one ``<Item>`` per
lot, tags in CamelCase (docs/marketplace-formats.md §6). A bare ``<!DOCTYPE BrickStoreXML>``
(BrickSync writes one) is allowed; any other DTD is refused. The tags kept:

==================  ===============================================
``ItemTypeID``      ``P``; absent means P
``ItemID``          part_number
``ColorID``         color_id
``ItemName``        name (only for a new item)
``Condition``       ``N`` / ``U``
``Qty``             quantity_available
``Price``           price
``Comments``        notes (BrickLink's DESCRIPTION)
``Remarks``         location (BrickLink's REMARKS)
==================  ===============================================

Everything else (``Status``, ``Bulk``, ``Sale``, ``Cost``, tiers, ``GuiState``...) is read past
and never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..models import InventoryItem
from .base import Format
from .bricklink_xml import CONDITION_CODES
from .xmlsafe import XmlLayout, xml_text

ROOTS = ("BrickStoreXML", "BrickStockXML")
TAGS = {
    "ItemTypeID": "item_type",
    "ItemID": "part_number",
    "ColorID": "color_id",
    "ItemName": "name",
    "Condition": "condition",
    "Qty": "quantity_available",
    "Price": "price",
    "Comments": "notes",
    "Remarks": "location",
}
FORMAT = Format(
    name="bsx",
    title="BrickStore file",
    labels={field_name: tag for tag, field_name in TAGS.items()},
)
LAYOUT = XmlLayout(
    format=FORMAT, roots=ROOTS, container="Inventory", record="Item", tags=TAGS, doctypes=ROOTS
)
MEDIA_TYPE = "application/xml"
EXTENSION = "bsx"


def write(items: Iterable[InventoryItem]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<BrickStoreXML>\n <Inventory>\n'
    for item in items:
        yield (
            "  <Item>\n"
            f"   <ItemID>{xml_text(item.part_number)}</ItemID>\n"
            "   <ItemTypeID>P</ItemTypeID>\n"
            f"   <ColorID>{item.color_id}</ColorID>\n"
        )
        if item.name:
            yield f"   <ItemName>{xml_text(item.name)}</ItemName>\n"
        yield (
            f"   <Qty>{item.quantity_available}</Qty>\n"
            f"   <Price>{item.price:.4f}</Price>\n"
            f"   <Condition>{CONDITION_CODES[item.condition]}</Condition>\n"
        )
        if item.notes:
            yield f"   <Comments>{xml_text(item.notes)}</Comments>\n"
        if item.location:
            yield f"   <Remarks>{xml_text(item.location)}</Remarks>\n"
        yield "  </Item>\n"
    yield " </Inventory>\n</BrickStoreXML>\n"
