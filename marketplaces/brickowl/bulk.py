"""BrickOwl's ``bulk/batch``: up to 50 requests in one call, each answered on its own.

The call is a form with ``key`` and ``requests``, a JSON object ``{"requests": [{"endpoint":
"inventory/update", "request_method": "POST", "params": [{...}]}, ...]}`` (``params`` a list
holding one object: docs/marketplace-formats.md 4.6). Batch calls have a limit of their own
(100 a minute in the current docs, 200 in older copies) beside the 600 of single calls.

The answer's shape is not documented, so both are read: ``{"responses": [{"endpoint",
"status_code", "body"}, ...]}`` and a bare list (of such entries, or of the bodies
themselves). There must be one answer per request, in order; anything else is a malformed
answer (a :class:`TransientError`, ambiguous: some requests may have been applied). An
answer ``{"error": ...}`` with no results is the batch refused as a whole.

Each request gets a :class:`BatchResult`: its parsed value, or its error, classified as a
single call's answer would be (a ``status_code`` of 404 is :class:`NotFound`, 400
:class:`BadRequest`, 429 :class:`RateLimited`...; a mutation's body must say ``"status":
"success"``), so one bad request never hides the others' outcomes. The call as a whole fails
like any call, and a timeout after sending is ambiguous: the batch may have been applied, so
creates are looked up by external id before being sent again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from marketplaces.errors import BadRequest, MarketplaceError, TransientError
from marketplaces.http import UNDECODABLE

from .base import BrickOwlBase
from .catalog import boids_of, id_lookup_params
from .decode import error_for, success
from .inventory import NewOwlLot, OwlLotUpdate, created_lot_id, lot_selector
from .parsing import PROVIDER, is_small_number, malformed

T = TypeVar("T")

BATCH_MAX = 50


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch: an endpoint (``"inventory/create"``), its method, its params."""

    endpoint: str
    params: Mapping[str, Any] = field(default_factory=dict)
    method: str = "POST"

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "request_method": self.method,
            "params": [dict(self.params)],
        }


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """What became of one request: ``value`` when it succeeded, else ``error``."""

    request: BatchRequest
    value: T | None = None
    error: MarketplaceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class BulkCalls(BrickOwlBase):
    def bulk_batch(self, requests: Sequence[BatchRequest]) -> list[BatchResult[Any]]:
        """Any requests (at most :data:`BATCH_MAX`); each value is that request's JSON answer."""
        return self._batch([(request, _as_is) for request in requests])

    def id_lookup_batch(self, bl_item_nos: Sequence[str]) -> list[BatchResult[list[str]]]:
        """The BOIDs of many BrickLink part numbers (an unknown one: :class:`NotFound`)."""
        return self._batch(
            [
                (BatchRequest("catalog/id_lookup", id_lookup_params(no), method="GET"), boids_of)
                for no in bl_item_nos
            ]
        )

    def inventory_create_batch(self, lots: Sequence[NewOwlLot]) -> list[BatchResult[str]]:
        """Create lots; each value is the new ``lot_id``. BrickOwl never deduplicates by
        external id: after an ambiguous failure, look the lots up before sending them again."""
        return self._batch(
            [(BatchRequest("inventory/create", lot.as_form()), created_lot_id) for lot in lots]
        )

    def inventory_update_batch(self, updates: Sequence[OwlLotUpdate]) -> list[BatchResult[None]]:
        """Change lots (absolute quantities: sending a batch again is harmless)."""
        return self._batch(
            [(BatchRequest("inventory/update", update.as_form()), _confirmed) for update in updates]
        )

    def inventory_delete_batch(self, lot_ids: Sequence[str]) -> list[BatchResult[None]]:
        return self._batch(
            [
                (BatchRequest("inventory/delete", lot_selector(lot_id, None)), _confirmed)
                for lot_id in lot_ids
            ]
        )

    def _batch(
        self, pairs: Sequence[tuple[BatchRequest, Callable[[Any], T]]]
    ) -> list[BatchResult[T]]:
        if not pairs:
            return []
        if len(pairs) > BATCH_MAX:
            raise ValueError(f"a BrickOwl batch holds at most {BATCH_MAX} requests")
        payload = {"requests": [request.as_json() for request, _ in pairs]}

        def parse(data: Any) -> list[BatchResult[T]]:
            entries = batch_entries(data, len(pairs))
            return [
                result_of(request, parse_value, status, body)
                for (request, parse_value), (status, body) in zip(pairs, entries, strict=True)
            ]

        return self._post(
            "/bulk/batch", parse, {"requests": json.dumps(payload, separators=(",", ":"))}
        )


def batch_entries(data: Any, count: int) -> list[tuple[int | None, Any]]:
    """Each request's (status or None, body), whichever of the two shapes the answer has."""
    if isinstance(data, dict) and isinstance(data.get("responses"), list):
        entries = data["responses"]
    elif isinstance(data, list):
        entries = data
    elif isinstance(data, dict) and data.get("error"):
        raise BadRequest(f"bulk/batch refused: {str(data['error'])[:300]}", provider=PROVIDER)
    else:
        raise malformed('bulk/batch answer is neither a list nor {"responses": [...]}')
    if len(entries) != count:
        raise malformed(f"bulk/batch answered {len(entries)} results to {count} requests")
    return [_entry(entry) for entry in entries]


def _entry(entry: Any) -> tuple[int | None, Any]:
    if not isinstance(entry, dict) or not ({"status_code", "body"} & entry.keys()):
        return None, entry  # the body itself
    status = entry.get("status_code")
    body = entry.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError, RecursionError):
            body = json.loads(body)  # a body sent as JSON text; left as text if it is not
    return (int(str(status).strip()) if is_small_number(status) else None), body


def result_of(
    request: BatchRequest, parse: Callable[[Any], T], status: int | None, body: Any
) -> BatchResult[T]:
    """One request's outcome: its status first, then its body, as a single call's."""
    context = {"provider": PROVIDER, "method": request.method, "path": f"/{request.endpoint}"}
    text = body if isinstance(body, str) else json.dumps(body)[:2000]
    failed_bare = status is None and isinstance(body, dict) and "error" in body
    if failed_bare and body.get("status") != "success":
        status = 400  # a bare body saying error: refused, as a 400 would be
    if status is not None and not 200 <= status < 300:
        error = error_for(status, text, context)
        error.message = f"in a batch: {error.message}"
        return BatchResult(request, error=error)
    try:
        return BatchResult(request, value=parse(body))
    except MarketplaceError as exc:
        exc.method, exc.path, exc.http_status = request.method, context["path"], status
        exc.body = exc.body or text[:500]
        exc.ambiguous = request.method != "GET" and isinstance(exc, TransientError)
        return BatchResult(request, error=exc)
    except UNDECODABLE as exc:
        error = TransientError(
            f"malformed answer in a batch ({type(exc).__name__})",
            **context,
            http_status=status,
            body=text,
            ambiguous=request.method != "GET",
        )
        return BatchResult(request, error=error)


def _as_is(body: Any) -> Any:
    return body


def _confirmed(body: Any) -> None:
    success(body)
