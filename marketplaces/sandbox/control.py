"""The sandbox's own endpoints: ``/_control``, ``/_calls``, ``/_ledger`` and ``/_inventory``
(``/_orders`` is in ``order_control``).

They are never counted, never faulted and need no credentials: they are how tests set the
scene and check what really happened behind a client's back. A control request is validated
in full before anything of it is applied, so a typo changes nothing.

``POST /_control`` keys: ``reset``, ``seed``, ``fault_seed``, ``latency``, ``faults`` (rules:
the ``faults`` module), ``bricklink_quota``, ``bricklink_max_in_flight``,
``bricklink_error_http_status`` (``"200"`` or ``"real"``), ``brickowl_rate_per_minute``,
``brickowl_batch_rate_per_minute`` (bulk/batch calls' own limit, 100),
``brickowl_batch_answer`` (``"responses"`` or ``"list"``: the ``brickowl.bulk`` module),
``bricklink_credentials``, ``brickowl_keys``, ``push_urls``, ``push_enabled``,
``push_drop_rate``, and ``prefill``: stores filled with a seller's lots, a number of them
shared with another store (the ``prefill`` module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marketplaces.sandbox import bricklink, brickowl
from marketplaces.sandbox.accounts import BRICKLINK
from marketplaces.sandbox.errors import ControlError, ControlNotFound
from marketplaces.sandbox.faults import parse_fault_rule
from marketplaces.sandbox.prefill import parse_prefill, prefill_stores
from marketplaces.sandbox.state import BATCH_ANSWERS, ERROR_MODES, SandboxState

_CREDENTIAL_KEYS = ("consumer_key", "consumer_secret", "token_value", "token_secret")

Change = Callable[[SandboxState], None]


def _int(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ControlError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def _latency(raw: Any) -> Change:
    if not isinstance(raw, dict) or set(raw) - {"fixed_ms", "random_ms"}:
        raise ControlError('latency must be {"fixed_ms": n, "random_ms": n}')
    fixed = _int(raw.get("fixed_ms", 0), "latency.fixed_ms")
    jitter = _int(raw.get("random_ms", 0), "latency.random_ms")

    def apply(state: SandboxState) -> None:
        state.settings.latency_fixed_ms, state.settings.latency_random_ms = fixed, jitter

    return apply


def _faults(raw: Any) -> Change:
    if not isinstance(raw, list):
        raise ControlError("faults must be a list of rules")
    rules = [parse_fault_rule(rule) for rule in raw]

    def apply(state: SandboxState) -> None:
        state.settings.faults = rules

    return apply


def _setting(name: str, value: Any) -> Change:
    def apply(state: SandboxState) -> None:
        setattr(state.settings, name, value)

    return apply


def _credentials(raw: Any) -> Change:
    if not isinstance(raw, list):
        raise ControlError("bricklink_credentials must be a list of credential objects")
    for entry in raw:
        if (
            not isinstance(entry, dict)
            or set(entry) != set(_CREDENTIAL_KEYS)
            or not all(isinstance(entry[key], str) and entry[key] for key in _CREDENTIAL_KEYS)
        ):
            raise ControlError(f"bricklink credentials need exactly {_CREDENTIAL_KEYS}")

    def apply(state: SandboxState) -> None:
        for entry in raw:
            state.add_bricklink_account(**entry)

    return apply


def _brickowl_keys(raw: Any) -> Change:
    if not isinstance(raw, list) or not all(isinstance(key, str) and key for key in raw):
        raise ControlError("brickowl_keys must be a list of non-empty strings")

    def apply(state: SandboxState) -> None:
        for key in raw:
            state.add_brickowl_account(key)

    return apply


def _push_urls(raw: Any) -> Change:
    """Where each account's order pushes go (account key -> URL; null or "" forgets one).
    Kept like the accounts added here: until the next reset."""
    if not isinstance(raw, dict):
        raise ControlError('push_urls must be {"<account key>": "http://...", ...}')
    for key, url in raw.items():
        if url in (None, ""):
            continue
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ControlError(f"the push URL of {key!r} must be an http(s) URL, not {url!r}")

    def apply(state: SandboxState) -> None:
        for key, url in raw.items():
            if url:
                state.push_urls[key] = url
            else:
                state.push_urls.pop(key, None)

    return apply


def _push_enabled(raw: Any) -> Change:
    if not isinstance(raw, bool):
        raise ControlError("push_enabled must be true or false")
    return _setting("push_enabled", raw)


def _push_drop_rate(raw: Any) -> Change:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise ControlError(f"push_drop_rate is a probability (0..1), not {raw!r}")
    return _setting("push_drop_rate", float(raw))


def _error_mode(raw: Any) -> Change:
    mode = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
    if mode not in ERROR_MODES:
        raise ControlError('bricklink_error_http_status must be "200" or "real"')
    return _setting("bricklink_error_http_status", mode)


def _batch_answer(raw: Any) -> Change:
    if raw not in BATCH_ANSWERS:
        raise ControlError('brickowl_batch_answer must be "responses" or "list"')
    return _setting("brickowl_batch_answer", raw)


def _seed(raw: Any) -> Change:
    seed = _int(raw, "seed")
    return lambda state: state.set_seed(seed)


def _fault_seed(raw: Any) -> Change:
    seed = _int(raw, "fault_seed")
    return lambda state: state.set_fault_seed(seed)


_PARSERS: dict[str, Callable[[Any], Change]] = {
    "seed": _seed,
    "fault_seed": _fault_seed,
    "latency": _latency,
    "faults": _faults,
    "bricklink_quota": lambda v: _setting("bricklink_quota", _int(v, "bricklink_quota")),
    "bricklink_max_in_flight": lambda v: _setting(
        "bricklink_max_in_flight", _int(v, "bricklink_max_in_flight", minimum=1)
    ),
    "bricklink_error_http_status": _error_mode,
    "brickowl_rate_per_minute": lambda v: _setting(
        "brickowl_rate_per_minute", _int(v, "brickowl_rate_per_minute", minimum=1)
    ),
    "brickowl_batch_rate_per_minute": lambda v: _setting(
        "brickowl_batch_rate_per_minute", _int(v, "brickowl_batch_rate_per_minute", minimum=1)
    ),
    "brickowl_batch_answer": _batch_answer,
    "bricklink_credentials": _credentials,
    "brickowl_keys": _brickowl_keys,
    "push_urls": _push_urls,
    "push_enabled": _push_enabled,
    "push_drop_rate": _push_drop_rate,
}


def control(state: SandboxState, body: Any) -> dict[str, Any]:
    """Apply a ``/_control`` body (reset first, prefill last: ``prefill``'s module) and answer
    the resulting configuration."""
    if not isinstance(body, dict):
        raise ControlError("the control body must be a JSON object")
    unknown = set(body) - set(_PARSERS) - {"reset", "prefill"}
    if unknown:
        raise ControlError(f"unknown control keys: {sorted(unknown)}")
    reset = body.get("reset", False)
    if not isinstance(reset, bool):
        raise ControlError("reset must be true or false")
    prefills = parse_prefill(body["prefill"]) if "prefill" in body else []
    changes = [
        _PARSERS[key](value) for key, value in body.items() if key not in ("reset", "prefill")
    ]
    with state.lock:
        if reset:
            state.reset_locked()
        for change in changes:
            change(state)
        prefilled = prefill_stores(state, prefills) if prefills else None
        answer = state.config()
        if prefilled is not None:
            answer["prefilled"] = prefilled
        return answer


def current_config(state: SandboxState) -> dict[str, Any]:
    with state.lock:
        return state.config()


def ledger(state: SandboxState, query: dict[str, str]) -> list[dict]:
    """Applied mutations in order; ``since``, ``provider`` and ``account`` narrow the list."""
    since = int(query["since"]) if query.get("since", "").isdigit() else 0
    with state.lock:
        entries = state.ledger[since:]
        return [
            entry
            for entry in entries
            if query.get("provider") in (None, entry["provider"])
            and query.get("account") in (None, entry["account"])
        ]


# --- /_inventory ---------------------------------------------------------------------------


def store_of(state: SandboxState, provider: Any, account: Any):
    return state.store(provider, account)


def inventory(state: SandboxState, provider: str | None, account: str | None) -> list[dict]:
    """A store's lots, in the API's own shape."""
    with state.lock:
        store = store_of(state, provider, account)
        if provider == BRICKLINK:
            return [store.lots[key] for key in sorted(store.lots)]
        return [store.lots[key] for key in sorted(store.lots, key=int)]


def inventory_change(state: SandboxState, body: Any) -> dict[str, Any]:
    """Change a store behind the API's back (drift): not counted, not in the ledger.

    ``create`` takes the lot as the API's create takes it (BrickLink's JSON lot, BrickOwl's
    form fields); ``update`` sets the given fields to ABSOLUTE values (``quantity`` too);
    ``delete`` removes ``lot_id``.
    """
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    op = body.get("op")
    if op not in ("create", "update", "delete"):
        raise ControlError("op must be create, update or delete")
    lot_fields = body.get("lot", {})
    if not isinstance(lot_fields, dict):
        raise ControlError("lot must be an object")
    with state.lock:
        store = store_of(state, body.get("provider"), body.get("account"))
        try:
            if body["provider"] == BRICKLINK:
                return _bricklink_change(state, store, op, body.get("lot_id"), lot_fields)
            return _brickowl_change(state, store, op, body.get("lot_id"), lot_fields)
        except bricklink.BrickLinkError as error:
            raise ControlError(error.description) from error
        except brickowl.BrickOwlError as error:
            raise ControlError(error.message) from error


def _bricklink_change(state, store, op: str, lot_id: Any, fields: dict) -> dict:
    if op == "create":
        lot = bricklink.new_lot(state, fields)
        return {"lot": bricklink.store_lot(state, store, lot, fields, ledger=False)}
    key = int(lot_id) if str(lot_id).isdigit() else None
    if key not in store.lots:
        raise ControlNotFound(f"no lot {lot_id!r}")
    if op == "delete":
        del store.lots[key]
        return {"status": "deleted", "lot_id": key}
    lot = store.lots[key]
    changes = bricklink.optional_fields(fields)
    if "quantity" in fields:
        quantity = fields["quantity"]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ControlError("quantity must be an integer >= 0 (absolute)")
        changes["quantity"] = quantity
    lot.update(changes)
    return {"lot": lot}


def _brickowl_change(state, store, op: str, lot_id: Any, fields: dict) -> dict:
    form = {key: str(value) for key, value in fields.items()}
    if op == "create":
        lot = brickowl.new_lot(state, form)
        return {"lot": brickowl.store_lot(state, store, lot, form, ledger=False)}
    key = str(lot_id)
    if key not in store.lots:
        raise ControlNotFound(f"no lot {lot_id!r}")
    if op == "delete":
        del store.lots[key]
        return {"status": "deleted", "lot_id": key}
    lot = store.lots[key]
    if "quantity" in form or "qty" in form:
        form["absolute_quantity"] = form.pop("quantity", None) or form.pop("qty")
    form.pop("qty", None)
    changes = brickowl.lot_changes(lot, form)
    if "external_id" in form:
        changes["external_lot_ids"] = brickowl.external_ids(form["external_id"])
    lot.update(changes)
    return {"lot": lot}
