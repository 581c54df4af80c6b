"""Several lots in one call: BrickLink's array POST to ``/inventories``.

Answered with meta 201 and empty ``data`` (``{}``), or, for a one-element array, maybe the
created lot (docs/marketplace-formats.md 3.3): either way the new ids are learnt by listing the
inventory again. All or nothing; a timeout after sending is ambiguous (the lots may exist:
re-list, never send the array again blindly).
"""

from __future__ import annotations

from collections.abc import Iterable

from .base import BrickLinkBase
from .inventory import NewLot


class BulkInventoryCalls(BrickLinkBase):
    def inventory_create_many(self, lots: Iterable[NewLot]) -> None:
        """Create several lots in one call (none: no call). BrickLink answers without the new
        ids: re-list."""
        body = [lot.as_json() for lot in lots]
        if not body:
            return  # an empty array is a 400 on BrickLink's side, and a call spent
        self._request("POST", "/inventories", lambda data: None, json=body)
