"""``POST bulk/batch``: up to 50 requests in one call (docs/marketplace-formats.md 4.6).

Next to ``key``, the form field ``requests`` holds a JSON object::

    {"requests": [{"endpoint": "inventory/update", "request_method": "POST",
                   "params": [{"lot_id": "2700001", "absolute_quantity": 2}]}, ...]}

``params`` is a list holding one object (``[]`` and ``[{}]`` mean no parameters); its values
are taken as a form would carry them (numbers as their text, ``true``/``false`` as 1/0).

* The batch as a whole is refused (a real 400, nothing applied) when ``requests`` is missing,
  not that JSON object, empty, or longer than :data:`MAX_REQUESTS`. Otherwise it answers
  HTTP 200 whatever its requests' outcomes: each request runs on its own, in order, through
  the endpoint's own handler (its checks, its ledger entry), and a failing one stops nothing.
  A request's own failure (a bad shape, an unknown endpoint, a batch inside the batch, what the
  endpoint refuses) is only in its answer.
* The answer's shape is undocumented (4.6), so it is a setting, ``brickowl_batch_answer``:
  ``"responses"`` (the default, BrickOwlSharp's model) is ``{"responses": [{"endpoint",
  "request_method", "status_code", "body"}, ...]}``; ``"list"`` is a bare list of the bodies,
  a failure being ``{"error": ...}`` with no status beside it.
* Limits: a batch call counts once, in its own rolling minute
  (``brickowl_batch_rate_per_minute``, 100 as the current docs say), and not in the 600 a
  minute of single calls: that is what batching buys. Its requests are counted in ``/_calls``
  under ``batched`` (by endpoint), not in ``total``. Faults and latency apply to the batch
  call as a whole, like to any call: ``apply_then_timeout`` runs every request, then never
  answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marketplaces.sandbox.wire import (
    JSON,
    ApiRequest,
    Response,
    Route,
    json_response,
    match_route,
)

from .call import BrickOwlError, Call, bad

MAX_REQUESTS = 50
BATCH_TEMPLATE = "/bulk/batch"
METHODS = ("GET", "POST")


@dataclass(slots=True)
class Answer:
    endpoint: str  # as the request named it
    template: str  # the endpoint it reached, for the counters
    method: str
    status: int
    body: Any


def run_batch(call: Call, routes: list[Route]) -> Response:
    """Every request of the batch, in order; one answer for each."""
    raw_requests = _requests(call.form)
    answers = [_run(call, routes, raw) for raw in raw_requests]
    with call.state.lock:
        call.state.counters.batched.update(f"{a.method} /brickowl{a.template}" for a in answers)
        shape = call.state.settings.brickowl_batch_answer
    if shape == "list":
        return json_response(200, [answer.body for answer in answers])
    return json_response(
        200,
        {
            "responses": [
                {
                    "endpoint": answer.endpoint,
                    "request_method": answer.method,
                    "status_code": answer.status,
                    "body": answer.body,
                }
                for answer in answers
            ]
        },
    )


def _requests(form: dict[str, str]) -> list[Any]:
    """The batch's requests, or a 400 for the whole batch."""
    text = form.get("requests")
    if not text:
        raise bad("Missing requests")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise bad(f"requests is not valid JSON: {exc}") from exc
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list):
        raise bad('requests must be a JSON object {"requests": [...]}')
    if not requests:
        raise bad("The batch holds no requests")
    if len(requests) > MAX_REQUESTS:
        raise bad(f"A batch holds at most {MAX_REQUESTS} requests, not {len(requests)}")
    return requests


def _run(call: Call, routes: list[Route], raw: Any) -> Answer:
    """One request of the batch through its endpoint's handler; its failure in its answer."""
    fields = raw if isinstance(raw, dict) else {}
    endpoint, method = fields.get("endpoint"), fields.get("request_method")
    path = "/" + endpoint.strip().strip("/") if isinstance(endpoint, str) else ""
    method = method.upper() if isinstance(method, str) else "?"
    template = "/{invalid}"
    try:
        if not isinstance(raw, dict):
            raise bad("A request must be an object with endpoint, request_method and params")
        if path == "/":
            raise bad("Missing endpoint")
        if method not in METHODS:
            raise bad(f"request_method must be GET or POST, not {fields.get('request_method')!r}")
        params = _params(fields.get("params", []))
        match = match_route(routes, method, path)
        template = match.template
        if not match.known:
            raise BrickOwlError(404, "Not Found")
        if match.template == BATCH_TEMPLATE:
            raise bad("A batch cannot hold a batch")
        if match.handler is None:
            raise BrickOwlError(405, "Method Not Allowed")
        request = ApiRequest(
            method=method,
            path=path,
            raw_query="",
            body=b"",
            headers=call.request.headers,
            uri=call.request.uri,
            query=params if method == "GET" else {},
            form=params if method == "POST" else {},
        )
        response = match.handler(Call(call.state, call.account, request, request.form))
    except BrickOwlError as error:
        return Answer(path.lstrip("/"), template, method, error.status, {"error": error.message})
    body = json.loads(response.body) if response.content_type == JSON else None
    return Answer(path.lstrip("/"), template, method, response.status, body)


def _params(raw: Any) -> dict[str, str]:
    """``params``: a list holding one object, its values as a form carries them."""
    if not isinstance(raw, list) or len(raw) > 1 or not all(isinstance(p, dict) for p in raw):
        raise bad("params must be a list holding one object")
    params = {}
    for name, value in (raw[0] if raw else {}).items():
        if isinstance(value, bool):
            params[name] = "1" if value else "0"
        elif value is None:
            params[name] = ""
        elif isinstance(value, str | int | float):
            params[name] = str(value)
        else:
            raise bad(f"The parameter {name} must be a string or a number")
    params.pop("key", None)  # the batch's key is the one that counts
    return params
