"""Our CSV format: one lot a row, under a header row of the item API's field names.

Written: ``part_number, color_id, name, condition, quantity_available, price, location,
notes`` (``condition`` is ``new`` or ``used``). Read: the header decides which column is
which; ``part_number``, ``color_id``, ``condition`` and ``quantity_available`` are required,
the others optional, and unknown columns are read past. UTF-8 (a BOM is fine), commas,
RFC 4180 quoting; blank lines are skipped and not counted as lots.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, so the
writer puts a ``'`` before such a text (name, location, notes) -- and before a text that
starts with ``'`` itself, so the reader takes exactly one ``'`` off and gets the text back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO

from ..models import InventoryItem
from .base import MAX_LOTS, Format, RawLot, UnknownFormat, UnreadableFile, too_many_lots

COLUMNS = (
    "part_number",
    "color_id",
    "name",
    "condition",
    "quantity_available",
    "price",
    "location",
    "notes",
)
REQUIRED = ("part_number", "color_id", "condition", "quantity_available")
TEXT_COLUMNS = ("name", "location", "notes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
FORMAT = Format(name="csv", title="CSV", labels={column: column for column in COLUMNS})
MEDIA_TYPE = "text/csv"
EXTENSION = "csv"


def protect(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def unprotect(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def header_columns(line: str) -> list[str]:
    """The column names of a header line (empty when it is not one)."""
    try:
        row = next(csv.reader([line]), [])
    except csv.Error:
        return []
    return [cell.strip() for cell in row]


def is_header(line: str) -> bool:
    return "part_number" in header_columns(line)


def read(stream: IO[bytes]) -> Iterator[RawLot]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        rows = csv.reader(text, strict=True)
        columns = [cell.strip() for cell in next(rows, [])]
        missing = [column for column in REQUIRED if column not in columns]
        if missing:
            raise UnknownFormat(f"The CSV header has no {', '.join(missing)} column.")
        if len(set(columns)) != len(columns):
            raise UnknownFormat("The CSV header names a column twice.")
        count = 0
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            count += 1
            if count > MAX_LOTS:
                raise too_many_lots()
            lot = RawLot(count - 1)
            if len(row) != len(columns):
                lot.problems.append(
                    f"the row has {len(row)} values, the header {len(columns)} columns"
                )
            for column, cell in zip(columns, row, strict=False):
                if column in COLUMNS:
                    lot.values[column] = unprotect(cell) if column in TEXT_COLUMNS else cell
            yield lot
    except UnicodeDecodeError:
        raise UnreadableFile("The file is not UTF-8 text.") from None
    except csv.Error as exc:
        raise UnreadableFile(f"The file is not well-formed CSV: {exc}.") from None
    finally:
        text.detach()  # the upload is closed by its owner, not by this wrapper


def write(items: Iterable[InventoryItem]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[object]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(COLUMNS)
    for item in items:
        yield line(
            [
                item.part_number,
                item.color_id,
                protect(item.name),
                item.condition,
                item.quantity_available,
                f"{item.price:.4f}",
                protect(item.location),
                protect(item.notes),
            ]
        )
