"""Inventory endpoints: list (by external id or lot id), create, update, delete.

Creates are never deduplicated by ``external_id``; updates and deletes by ``external_id`` act
on the oldest lot carrying it.
"""

from __future__ import annotations

from marketplaces.sandbox.accounts import BRICKOWL
from marketplaces.sandbox.wire import JSON, Response, json_response

from .call import Call
from .lots import external_id_of, find_lot, lot_changes, new_lot, sent_fields, store_lot

_SUCCESS = b'{"status":"success"}'


def list_inventory(call: Call) -> Response:
    query = call.request.query
    external = query.get("external_id_1")
    lot_id = query.get("lot_id")
    with call.state.lock:
        lots = [call.account.lots[key] for key in sorted(call.account.lots, key=int)]
        if external is not None:
            lots = [lot for lot in lots if external_id_of(lot) == external]
        if lot_id is not None:
            lots = [lot for lot in lots if lot["lot_id"] == lot_id]
        return json_response(200, lots)


def create_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = store_lot(
            call.state, call.account, new_lot(call.state, call.form), sent_fields(call.form)
        )
        return json_response(200, {"status": "success", "lot_id": lot["lot_id"]})


def update_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = find_lot(call.account, call.form)
        changes = lot_changes(lot, call.form)
        before = int(lot["qty"])
        lot.update(changes)
        call.state.record(
            provider=BRICKOWL,
            account=call.account.key,
            op="update",
            lot_id=lot["lot_id"],
            fields=sent_fields(call.form),
            before=before,
            after=int(lot["qty"]),
        )
    return Response(200, _SUCCESS, JSON)


def delete_inventory(call: Call) -> Response:
    with call.state.lock:
        lot = find_lot(call.account, call.form)
        del call.account.lots[lot["lot_id"]]
        call.state.record(
            provider=BRICKOWL,
            account=call.account.key,
            op="delete",
            lot_id=lot["lot_id"],
            fields=sent_fields(call.form),
            before=int(lot["qty"]),
            after=0,
        )
    return Response(200, _SUCCESS, JSON)
