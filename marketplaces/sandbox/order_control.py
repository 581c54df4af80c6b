"""``/_orders``: the sandbox playing the buyer and the marketplace.

``POST /_orders`` takes one operation, validated in full before anything of it is applied:

* ``{"op": "place", "provider", "account", "buyer": "name", "lines": [{"lot_id", "quantity"}]}``
  places an order against existing lots and takes the quantity off them (``{"order_id"}``);
* ``{"op": "status", "provider", "account", "order_id", "status"}`` changes its status
  (BrickLink's word, or BrickOwl's name or status id);
* ``{"op": "cancel", ...}``: CANCELLED / Cancelled (8). Nothing goes back into stock;
* BrickLink only: ``{"op": "add", ..., "order_id", "lines"}`` adds a batch (the order becomes
  UPDATED) and ``{"op": "file", ..., "order_id", "filed": true}`` files it.

A BrickLink event leaves an unread ``Order`` notification and is pushed (an empty POST) to the
account's push URL; a BrickOwl order is pushed when placed (a GET with ``order_id`` and
``store_id``). Push URLs and the push switches are ``/_control`` settings. The answer says what
became of the push: ``scheduled``, ``dropped``, ``disabled`` or ``none`` (no push URL).

``GET /_orders?provider=..&account=..`` answers the store's orders as the API shows them (with
their items), its unread notifications (without reading them) and its latest pushes.
Like ``/_inventory``, none of this is counted; what an order takes off a lot is in the ledger
(``op: "order"``).
"""

from __future__ import annotations

import copy
from typing import Any

from marketplaces.sandbox import bricklink, brickowl, push
from marketplaces.sandbox.accounts import BRICKLINK, BRICKOWL
from marketplaces.sandbox.bricklink import sales as bricklink_sales
from marketplaces.sandbox.brickowl import sales as brickowl_sales
from marketplaces.sandbox.control import store_of
from marketplaces.sandbox.errors import ControlError
from marketplaces.sandbox.state import SandboxState

# op -> the keys it takes besides op, provider and account
_OPS = {
    "place": {"buyer", "lines"},
    "add": {"order_id", "lines"},
    "status": {"order_id", "status"},
    "cancel": {"order_id"},
    "file": {"order_id", "filed"},
}
_BRICKLINK_ONLY = {"add", "file"}
DEFAULT_BUYER = "sandbox_buyer"


def _lines(raw: Any) -> list[tuple[Any, int]]:
    if not isinstance(raw, list) or not raw:
        raise ControlError('lines must be a non-empty list of {"lot_id": ..., "quantity": n}')
    lines = []
    for line in raw:
        if not isinstance(line, dict) or set(line) != {"lot_id", "quantity"}:
            raise ControlError(f'a line is {{"lot_id": ..., "quantity": n}}, not {line!r}')
        quantity = line["quantity"]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ControlError(f"quantity must be an integer >= 1, not {quantity!r}")
        lines.append((line["lot_id"], quantity))
    return lines


def _checked(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    op = body.get("op")
    if op not in _OPS:
        raise ControlError(f"op must be one of {', '.join(_OPS)}")
    provider = body.get("provider")
    if provider not in (BRICKLINK, BRICKOWL):
        raise ControlError("provider must be bricklink or brickowl")
    if provider == BRICKOWL and op in _BRICKLINK_ONLY:
        raise ControlError(f"{op} is BrickLink's only")
    unknown = set(body) - _OPS[op] - {"op", "provider", "account"}
    if unknown:
        raise ControlError(f"unknown keys for {op}: {sorted(unknown)}")
    if op != "place" and "order_id" not in body:
        raise ControlError(f"{op} needs an order_id")
    if op == "status" and "status" not in body:
        raise ControlError("status needs a status")
    buyer = body.get("buyer", DEFAULT_BUYER)
    if not isinstance(buyer, str) or not buyer.strip():
        raise ControlError("buyer must be a non-empty string")
    return {
        **body,
        "buyer": buyer.strip(),
        "lines": _lines(body.get("lines")) if op in ("place", "add") else [],
    }


def order_change(state: SandboxState, body: Any) -> dict[str, Any]:
    """Apply one ``POST /_orders`` operation; the push (if any) leaves after the lock."""
    request = _checked(body)
    with state.lock:
        store = store_of(state, request["provider"], request.get("account"))
        if request["provider"] == BRICKLINK:
            answer, event = _bricklink(state, store, request)
        else:
            answer, event = _brickowl(state, store, request)
        planned = None
        if event:
            planned = push.plan(
                state,
                provider=request["provider"],
                account=request["account"],
                order_id=answer["order_id"],
                store_id=getattr(store, "store_id", ""),
            )
    push.send(state, planned)
    return {**answer, "push": push.decision_of(planned)}


def _bricklink(state: SandboxState, store, request: dict) -> tuple[dict, bool]:
    op = request["op"]
    if op == "place":
        order = bricklink_sales.place(state, store, request["buyer"], request["lines"])
    else:
        order = bricklink_sales.find(store, request["order_id"])
    if op == "add":
        bricklink_sales.add(state, store, order, request["lines"])
    elif op == "status":
        bricklink_sales.set_status(store, order, request["status"])
    elif op == "cancel":
        bricklink_sales.set_status(store, order, "CANCELLED")
    elif op == "file":
        bricklink_sales.file(order, request.get("filed", True))
    answer = {"order_id": order["order_id"], "status": order["status"]}
    return answer, op != "file"


def _brickowl(state: SandboxState, store, request: dict) -> tuple[dict, bool]:
    op = request["op"]
    if op == "place":
        order = brickowl_sales.place(state, store, request["buyer"], request["lines"])
    else:
        order = brickowl_sales.find(store, request["order_id"])
    if op == "status":
        brickowl_sales.set_status(order, request["status"])
    elif op == "cancel":
        brickowl_sales.set_status(order, brickowl_sales.CANCELLED)
    answer = {
        "order_id": order["order_id"],
        "status": brickowl.STATUSES[order["status_id"]],
        "status_id": order["status_id"],
    }
    return answer, op == "place"


def orders(state: SandboxState, provider: str | None, account: str | None) -> dict[str, Any]:
    """A store's orders as the API shows them, its unread notifications, its latest pushes."""
    with state.lock:
        store = store_of(state, provider, account)
        if provider == BRICKLINK:
            listed = [
                {"order": bricklink.order_view(order), "items": bricklink.item_batches(order)}
                for _, order in sorted(store.orders.items())
            ]
            unread = list(store.notifications)
        else:
            listed = [
                {"order": brickowl.order_view(order), "items": order["items"]}
                for _, order in sorted(store.orders.items(), key=lambda pair: int(pair[0]))
            ]
            unread = []
        pushes = [
            dict(entry)
            for entry in state.pushes
            if entry["provider"] == provider and entry["account"] == account
        ]
        # Copied under the lock: it is serialized after, while orders may change.
        return copy.deepcopy({"orders": listed, "notifications": unread, "pushes": pushes})
