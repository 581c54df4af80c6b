"""Several lots in one call: the array POST to ``/inventories``, all or nothing.

The docs say an array is answered with meta 201 and empty ``data`` (``{}``, which is what
BricklinkSharp checks for), so the client re-lists to learn the new ids; BrickSync, which
creates every lot as a one-element array, reads the lot back from ``data``. So: an array of
two or more lots answers ``"data": {}``, a one-element array answers the created lot
(docs/marketplace-formats.md 3.3: clients must handle both). An empty array is a 400.
"""

from __future__ import annotations

from typing import Any

from marketplaces.sandbox.wire import Response

from .call import Call
from .envelope import BrickLinkError, ok
from .lots import new_lot, store_lot


def create_many(call: Call, body: list[Any]) -> Response:
    if not body:
        raise BrickLinkError(400, "INVALID_REQUEST_BODY", "The array of lots is empty")
    with call.state.lock:
        lots = [new_lot(call.state, element) for element in body]  # all or nothing
        for lot, sent in zip(lots, body, strict=True):
            store_lot(call.state, call.account, lot, sent)
        return ok(lots[0] if len(lots) == 1 else {}, code=201, message="OK_CREATED")
