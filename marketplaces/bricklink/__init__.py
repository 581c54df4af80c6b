"""BrickLink Store API v1 client.

BrickLink's envelope is ``{"meta": {"code", "message", "description"}, "data": ...}`` and
``meta.code`` is the real outcome: errors often arrive with HTTP 200, responses are labelled
``text/html`` although they are JSON, and under load an nginx HTML page replaces the JSON.
So the decoder reads ``meta.code`` first, then the HTTP status, and treats anything that is not
the envelope as a transient failure. See ``docs/marketplaces.md``.

* ``credentials`` - the OAuth 1.0 credentials of a store (or the platform's)
* ``parsing``     - what BrickLink sends, normalised (entities, numbers as strings, URLs)
* ``decode``      - the envelope read and its errors classified
* ``base``        - :class:`BrickLinkBase`: the signed session and one decoded call
* ``catalog``     - items, known colors, price guides, colors, categories
* ``inventory``   - one lot at a time: list, get, create, update, delete
* ``bulk``        - several lots in one array POST
* ``orders``      - orders (the list, one, its items) and the unread notifications
* ``client``      - :class:`BrickLinkClient`, all of the groups above
"""

from .catalog import GUIDE_TYPES, Category, Color, FullPriceGuide, Item, KnownColor, PriceGuidePart
from .client import BrickLinkClient
from .credentials import Credentials
from .decode import MAX_RETRY_AFTER, SUCCESS_CODES
from .inventory import CONDITIONS, INVENTORY_MAX_BYTES, Lot, NewLot
from .orders import BrickLinkNotification, BrickLinkOrder, BrickLinkOrderItem
from .parsing import MAX_INT, PROVIDER

__all__ = [
    "CONDITIONS",
    "GUIDE_TYPES",
    "INVENTORY_MAX_BYTES",
    "MAX_INT",
    "MAX_RETRY_AFTER",
    "PROVIDER",
    "SUCCESS_CODES",
    "BrickLinkClient",
    "BrickLinkNotification",
    "BrickLinkOrder",
    "BrickLinkOrderItem",
    "Category",
    "Color",
    "Credentials",
    "FullPriceGuide",
    "Item",
    "KnownColor",
    "Lot",
    "NewLot",
    "PriceGuidePart",
]
