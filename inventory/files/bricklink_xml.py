"""BrickLink's XML inventory format (Mass Upload; a store's inventory download).

``<INVENTORY>`` holds one ``<ITEM>`` per lot, tags in upper case, in any order, and no XML
declaration (docs/marketplace-formats.md §5). The tags kept:

======================  ===========================================================
``ITEMTYPE``            ``P`` (parts are what an inventory holds); absent means P
``ITEMID``              part_number
``COLOR``               color_id
``CONDITION``           ``N`` / ``U``
``QTY``                 quantity_available
``PRICE``               price
``DESCRIPTION``         notes (the public comment)
``REMARKS``             location (the private remarks, where the sync keeps it too)
======================  ===========================================================

Every other tag (BULK, SALE, TQ1..., STOCKROOM, LOTID...) is read past and never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..models import Condition, InventoryItem
from .base import Format
from .xmlsafe import XmlLayout, xml_text

TAGS = {
    "ITEMTYPE": "item_type",
    "ITEMID": "part_number",
    "COLOR": "color_id",
    "CONDITION": "condition",
    "QTY": "quantity_available",
    "PRICE": "price",
    "DESCRIPTION": "notes",
    "REMARKS": "location",
}
FORMAT = Format(
    name="bricklink_xml",
    title="BrickLink XML inventory",
    labels={field_name: tag for tag, field_name in TAGS.items()},
)
LAYOUT = XmlLayout(format=FORMAT, roots=("INVENTORY",), container=None, record="ITEM", tags=TAGS)
MEDIA_TYPE = "application/xml"
EXTENSION = "xml"
CONDITION_CODES = {Condition.NEW: "N", Condition.USED: "U"}


def write(items: Iterable[InventoryItem]) -> Iterator[str]:
    yield "<INVENTORY>\n"
    for item in items:
        yield (
            " <ITEM>\n"
            "  <ITEMTYPE>P</ITEMTYPE>\n"
            f"  <ITEMID>{xml_text(item.part_number)}</ITEMID>\n"
            f"  <COLOR>{item.color_id}</COLOR>\n"
            f"  <CONDITION>{CONDITION_CODES[item.condition]}</CONDITION>\n"
            f"  <QTY>{item.quantity_available}</QTY>\n"
            f"  <PRICE>{item.price:.4f}</PRICE>\n"
        )
        if item.notes:
            yield f"  <DESCRIPTION>{xml_text(item.notes)}</DESCRIPTION>\n"
        if item.location:
            yield f"  <REMARKS>{xml_text(item.location)}</REMARKS>\n"
        yield " </ITEM>\n"
    yield "</INVENTORY>\n"
