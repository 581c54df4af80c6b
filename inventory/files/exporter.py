"""Exporting an account's live items to a file, streamed.

The items are read in batches by id (oldest first, so an import of the file creates them in
the same order) and written as they come, so memory does not grow with the inventory and no
cursor is held open between the chunks of the response. Each format writes what it can carry
(see its module): all of them the part, color, condition, available quantity, price, notes and
location; BrickStore's and the CSV the name too. Characters XML cannot carry at all (control
characters) are left out of the XML formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from accounts.models import Account

from ..models import InventoryItem
from . import bricklink_xml, bsx, csvfile

BATCH = 1000
CHUNK_CHARS = 64 * 1024
EXPORTED_FIELDS = (
    "id",
    "part_number",
    "color_id",
    "name",
    "condition",
    "quantity_available",
    "price",
    "notes",
    "location",
)


@dataclass(frozen=True)
class ExportFormat:
    name: str
    media_type: str
    extension: str
    write: Callable[[Iterable[InventoryItem]], Iterator[str]]

    def filename(self, day: date) -> str:
        return f"inventory-{day:%Y-%m-%d}.{self.extension}"


FORMATS = {
    export.name: export
    for export in (
        ExportFormat(
            "bricklink_xml", bricklink_xml.MEDIA_TYPE, bricklink_xml.EXTENSION, bricklink_xml.write
        ),
        ExportFormat("bsx", bsx.MEDIA_TYPE, bsx.EXTENSION, bsx.write),
        ExportFormat("csv", csvfile.MEDIA_TYPE, csvfile.EXTENSION, csvfile.write),
    )
}


def live_items(account: Account) -> Iterator[InventoryItem]:
    """Every live item of the account, oldest first, a batch at a time."""
    last_id = 0
    while True:
        batch = list(
            InventoryItem.objects.filter(account=account, archived=False, id__gt=last_id)
            .order_by("id")
            .only(*EXPORTED_FIELDS)[:BATCH]
        )
        yield from batch
        if len(batch) < BATCH:
            return
        last_id = batch[-1].id


def export_chunks(*, account: Account, format_name: str) -> Iterator[bytes]:
    """The file, as UTF-8 chunks of about CHUNK_CHARS characters."""
    pending: list[str] = []
    size = 0
    for text in FORMATS[format_name].write(live_items(account)):
        pending.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            yield "".join(pending).encode()
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode()
