"""Files and requests shared by the inventory file tests (tests/inventory/test_files_*.py)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import InventoryHistory, InventoryItem, SyncState

IMPORT = "/api/v1/inventory/import/"
EXPORT = "/api/v1/inventory/export/"
# What every format carries of an item (BrickStore's and the CSV the name too).
LOT_FIELDS = (
    "part_number",
    "color_id",
    "condition",
    "quantity_available",
    "price",
    "notes",
    "location",
)

BL_TAGS = {
    "item_type": "ITEMTYPE",
    "part_number": "ITEMID",
    "color_id": "COLOR",
    "condition": "CONDITION",
    "quantity_available": "QTY",
    "price": "PRICE",
    "notes": "DESCRIPTION",
    "location": "REMARKS",
}
BSX_TAGS = {
    "item_type": "ItemTypeID",
    "part_number": "ItemID",
    "color_id": "ColorID",
    "name": "ItemName",
    "condition": "Condition",
    "quantity_available": "Qty",
    "price": "Price",
    "notes": "Comments",
    "location": "Remarks",
}


def lot(part="3001", color=11, condition="N", qty=5, **extra) -> dict:
    """A lot by field name; a value of None leaves the tag out."""
    values = {"part_number": part, "color_id": color, "condition": condition}
    values["quantity_available"] = qty
    values.update(extra)
    return {key: value for key, value in values.items() if value is not None}


def tags_of(values: dict, tags: dict, indent: str) -> str:
    return "".join(
        f"{indent}<{tags[key]}>{escape(str(value))}</{tags[key]}>\n"
        for key, value in values.items()
    )


def bricklink_xml(*lots: dict) -> bytes:
    items = "".join(f" <ITEM>\n{tags_of(values, BL_TAGS, '  ')} </ITEM>\n" for values in lots)
    return f"<INVENTORY>\n{items}</INVENTORY>\n".encode()


def bsx(*lots: dict, doctype: str = "") -> bytes:
    items = "".join(f"  <Item>\n{tags_of(values, BSX_TAGS, '   ')}  </Item>\n" for values in lots)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<BrickStoreXML>\n'
        f' <Inventory Currency="EUR">\n{items} </Inventory>\n'
        ' <GuiState Application="BrickStore" Version="2"><ColumnLayout Compressed="1"/>'
        "</GuiState>\n</BrickStoreXML>\n"
    ).encode()


def csv_file(*rows: str, header="part_number,color_id,condition,quantity_available") -> bytes:
    return "\r\n".join([header, *rows]).encode() + b"\r\n"


def upload(client, content: bytes, *, name="inventory.xml", **fields):
    """POST the file (multipart), with ``mode`` / ``dry_run`` as given."""
    data = {"file": SimpleUploadedFile(name, content), **fields}
    return client.post(IMPORT, data, format="multipart")


def items_of(account, *fields: str) -> list[tuple]:
    """The account's live items, oldest first, as tuples of the given fields."""
    fields = fields or LOT_FIELDS
    return list(
        InventoryItem.objects.filter(account=account, archived=False)
        .order_by("id")
        .values_list(*fields)
    )


def writes() -> tuple[int, int, int]:
    return (
        InventoryItem.objects.count(),
        InventoryHistory.objects.count(),
        SyncState.objects.count(),
    )
