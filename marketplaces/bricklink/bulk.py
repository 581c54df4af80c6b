"""Several lots in one call: BrickLink's array POST to ``/inventories``."""

from __future__ import annotations

from collections.abc import Iterable

from .base import BrickLinkBase
from .inventory import NewLot


class BulkInventoryCalls(BrickLinkBase):
    def inventory_create_many(self, lots: Iterable[NewLot]) -> None:
        """Create several lots in one call. BrickLink answers without the new ids: re-list."""
        self._request(
            "POST", "/inventories", lambda data: None, json=[lot.as_json() for lot in lots]
        )
