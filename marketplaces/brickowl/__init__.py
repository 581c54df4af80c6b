"""BrickOwl API v1 client.

Key auth: ``key=`` in the query on GET and in the form body on POST (so the key travels in
URLs: it must never reach a log line or an error message). Real HTTP status codes, bare JSON
bodies with numbers as strings, an undocumented error body: a non-2xx answer, or a mutation
answered without ``"status": "success"``, is a failure and keeps the raw body.
See ``docs/marketplaces.md``.

* ``parsing``   - what BrickOwl sends, normalised (numbers as strings, odd lists, BOIDs
  with their color, Unix times)
* ``decode``    - an answer read, its errors classified, a mutation's success confirmed
* ``base``      - :class:`BrickOwlBase`: the key, the pooled session, GET and POST
* ``catalog``   - id lookup (BOIDs of BrickLink numbers), the color list
* ``inventory`` - lots: list, create, update, delete
* ``bulk``      - ``bulk/batch``: up to 50 requests in one call, a result (value or error)
  for each; creates, updates and deletes of lots in batches
* ``orders``    - orders: the list, one order, its items
* ``client``    - :class:`BrickOwlClient`, all of the groups above
"""

from .bulk import BATCH_MAX, BatchRequest, BatchResult
from .catalog import BrickOwlColor
from .client import BrickOwlClient
from .decode import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER
from .inventory import CONDITIONS, NewOwlLot, OwlLot, OwlLotUpdate
from .orders import STATUSES, BrickOwlOrder, BrickOwlOrderItem, BrickOwlOrderSummary
from .parsing import PROVIDER

__all__ = [
    "BATCH_MAX",
    "CONDITIONS",
    "DEFAULT_RETRY_AFTER",
    "MAX_RETRY_AFTER",
    "PROVIDER",
    "STATUSES",
    "BatchRequest",
    "BatchResult",
    "BrickOwlClient",
    "BrickOwlColor",
    "BrickOwlOrder",
    "BrickOwlOrderItem",
    "BrickOwlOrderSummary",
    "NewOwlLot",
    "OwlLot",
    "OwlLotUpdate",
]
