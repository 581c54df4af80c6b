"""BrickOwl API v1 as the sandbox plays it.

Real HTTP statuses, bare JSON with numbers as strings, ``key`` in the query on GET and in the
form body on POST, 600 requests per rolling minute per key (bulk/batch calls: 100, apart).
Creates are never deduplicated by ``external_id``: a client that wants idempotent creates
looks its lot up first (``inventory/list?external_id_1=...``). Updates and deletes by
``external_id`` act on the oldest lot carrying it. A listed lot's ``boid`` carries its color
(``"306255-64"``), with no ``color_id`` field, as the real list shows it; an order item's
``boid`` carries it too (beside a ``color_id``, as real order items have).

* ``call``      - :class:`BrickOwlError` and :class:`Call`, one call on its way to a handler
* ``values``    - a lot's form values validated and normalized; the condition codes
* ``lots``      - a lot made from a create form, kept, found, changed
* ``catalog``   - id lookup and the color list
* ``inventory`` - list, create, update, delete
* ``orders``    - ``order/list``, ``order/view``, ``order/items``
* ``bulk``      - ``bulk/batch``: up to 50 requests, each through its endpoint's handler and
  answered in its place (HTTP 200 whatever their outcomes); a limit of its own
* ``sales``     - the marketplace's side of orders (``/_orders``): placed, status changed
* ``api``       - :class:`BrickOwlApi`: the routes, keys, the rate limit, faults

A new group of endpoints is a module of its own, its handlers added to ``api.ROUTES``.
"""

from .api import PREFIX, ROUTES, BrickOwlApi
from .call import BrickOwlError, Call
from .lots import boid_and_color, external_id_of, external_ids, lot_changes, new_lot, store_lot
from .orders import STATUSES, order_view
from .values import CONDITIONS

__all__ = [
    "CONDITIONS",
    "PREFIX",
    "ROUTES",
    "STATUSES",
    "BrickOwlApi",
    "BrickOwlError",
    "Call",
    "boid_and_color",
    "external_id_of",
    "external_ids",
    "lot_changes",
    "new_lot",
    "order_view",
    "store_lot",
]
