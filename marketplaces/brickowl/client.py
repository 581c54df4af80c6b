"""The BrickOwl client: every group of endpoints in one object."""

from __future__ import annotations

from .bulk import BulkCalls
from .catalog import CatalogCalls
from .inventory import InventoryCalls
from .orders import OrderCalls


class BrickOwlClient(CatalogCalls, InventoryCalls, BulkCalls, OrderCalls):
    """BrickOwl API v1 for one API key (:meth:`platform` for the catalog's).

    A new group of endpoints is a module of its own with a :class:`~.base.BrickOwlBase`
    subclass, added to the bases here.
    """
