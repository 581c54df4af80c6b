"""Inventory endpoints, one lot at a time: list, get, create, update (a delta), delete.

A DELETE answers with an empty body, as the real API may; duplicate lots are never merged
(BrickLink has no external id).
"""

from __future__ import annotations

from marketplaces.sandbox.accounts import BRICKLINK
from marketplaces.sandbox.wire import BRICKLINK_CONTENT_TYPE, Response

from .bulk import create_many
from .call import Call
from .envelope import BrickLinkError, not_found, ok
from .lots import lot_update, new_lot, store_lot


def _lot_or_404(call: Call) -> dict:
    key = call.params[0]
    lot = call.account.lots.get(int(key)) if key.isdigit() else None
    if lot is None:
        raise not_found(f"The inventory {key} does not exist")
    return lot


def list_inventories(call: Call) -> Response:
    with call.state.lock:
        return ok([call.account.lots[key] for key in sorted(call.account.lots)])


def get_inventory(call: Call) -> Response:
    with call.state.lock:
        return ok(_lot_or_404(call))


def create_inventories(call: Call) -> Response:
    body = call.json_body()
    if isinstance(body, list):
        return create_many(call, body)
    with call.state.lock:
        lot = store_lot(call.state, call.account, new_lot(call.state, body), body)
        return ok(lot, code=201, message="OK_CREATED")


def update_inventory(call: Call) -> Response:
    body = call.json_body()
    if not isinstance(body, dict):
        raise BrickLinkError(400, "INVALID_REQUEST_BODY", "The body must be a JSON object")
    if body.get("description") is None:
        # BrickLink since Feb 2024: a real HTTP 400, whatever else the body says.
        raise BrickLinkError(
            400, "INVALID_REQUEST_BODY", "String input must not be null", http_status=400
        )
    with call.state.lock:
        lot = _lot_or_404(call)
        changes = lot_update(lot, body)
        before = lot["quantity"]
        lot.update(changes)
        call.state.record(
            provider=BRICKLINK,
            account=call.account.consumer_key,
            op="update",
            lot_id=lot["inventory_id"],
            fields=body,
            before=before,
            after=lot["quantity"],
        )
        return ok(lot)


def delete_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = _lot_or_404(call)
        del call.account.lots[lot["inventory_id"]]
        call.state.record(
            provider=BRICKLINK,
            account=call.account.consumer_key,
            op="delete",
            lot_id=lot["inventory_id"],
            fields={},
            before=lot["quantity"],
            after=0,
        )
    # The real API may answer a DELETE with no body at all.
    return Response(200, b"", BRICKLINK_CONTENT_TYPE)
