"""Several lots in one call: the array POST to ``/inventories``, all or nothing, answered
without ``data`` (the client re-lists to learn the new ids)."""

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
    return ok(code=201, message="OK_CREATED")
