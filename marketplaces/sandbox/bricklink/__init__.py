"""BrickLink Store API v1 as the sandbox plays it, quirks included.

The quirks are the point (see docs/marketplaces.md): errors come back as HTTP 200 with the real
outcome in ``meta.code`` (unless ``bricklink_error_http_status`` is ``"real"``), every answer is
labelled ``text/html``, a PUT's quantity is a delta, a PUT without ``description`` is a real
HTTP 400, an array POST answers ``"data": {}`` (a one-element array: the lot), a DELETE
answers with an empty body, duplicate lots are never merged (BrickLink has no external id), an
order's items come as a list of batches, and reading the notifications marks them read.

* ``envelope``    - :class:`BrickLinkError` and the ``{"meta", "data"}`` answers
* ``call``        - :class:`Call`, one authenticated call on its way to a handler
* ``values``      - a lot's fields validated and normalized
* ``lots``        - a lot made from a POST body, kept, changed by a PUT body
* ``catalog``     - items, an item's colors, colors, categories
* ``price_guide`` - the made-up, replayable price guide
* ``inventory``   - one lot at a time: list, get, create, update, delete
* ``bulk``        - the array POST
* ``orders``      - orders (the list and its filters, one, its items) and notifications
* ``sales``       - the marketplace's side of orders (``/_orders``): placed, added to, status
* ``api``         - :class:`BrickLinkApi`: the routes, OAuth, quota, concurrency, faults

A new group of endpoints is a module of its own, its handlers added to ``api.ROUTES``.
"""

from .api import PREFIX, ROUTES, BrickLinkApi
from .call import Call
from .envelope import BrickLinkError, envelope
from .lots import lot_update, new_lot, store_lot
from .orders import item_batches, order_view
from .price_guide import CURRENCY_RATES, VAT_FACTORS, PriceQuery, price_guide, price_query
from .values import optional_fields

__all__ = [
    "CURRENCY_RATES",
    "PREFIX",
    "ROUTES",
    "VAT_FACTORS",
    "BrickLinkApi",
    "BrickLinkError",
    "Call",
    "PriceQuery",
    "envelope",
    "item_batches",
    "lot_update",
    "new_lot",
    "optional_fields",
    "order_view",
    "price_guide",
    "price_query",
    "store_lot",
]
