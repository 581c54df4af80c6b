"""The BrickLink client: every group of endpoints in one object."""

from __future__ import annotations

from .bulk import BulkInventoryCalls
from .catalog import CatalogCalls
from .inventory import InventoryCalls
from .orders import OrderCalls


class BrickLinkClient(CatalogCalls, InventoryCalls, BulkInventoryCalls, OrderCalls):
    """BrickLink Store API v1 for one set of credentials (:meth:`platform` for the catalog's).

    A new group of endpoints is a module of its own with a :class:`~.base.BrickLinkBase`
    subclass, added to the bases here.
    """
