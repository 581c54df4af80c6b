"""BrickLink's envelope, read: ``meta.code`` first, then the HTTP status.

The envelope is ``{"meta": {"code", "message", "description"}, "data": ...}`` and ``meta.code``
is the real outcome: errors often arrive with HTTP 200, responses are labelled ``text/html``
although they are JSON, and under load an nginx HTML page replaces the JSON. Anything that is
not the envelope is a transient failure. See ``docs/marketplaces.md``.
"""

from __future__ import annotations

import json
from typing import Any

from marketplaces.errors import (
    AuthError,
    BadRequest,
    MarketplaceError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from marketplaces.http import RawResponse, parse_retry_after, seconds_until_next_utc_midnight

from .parsing import PROVIDER, plain_text

SUCCESS_CODES = frozenset({200, 201, 204})
# A 429 without a usable Retry-After: the quota window is the UTC day.
MAX_RETRY_AFTER = 24 * 3600.0


def decode_envelope(raw: RawResponse, method: str, template: str) -> tuple[Any, int | None]:
    """The envelope's ``data``, or the classified error: meta.code first, then HTTP."""
    context = {"provider": PROVIDER, "method": method, "path": template}
    text = raw.body.decode("utf-8", errors="replace")
    if not raw.body.strip():
        if method == "DELETE" and raw.status in (200, 204):
            return None, None  # BrickLink may answer a delete without a body
        _raise_for_http_status(raw, text, context, why="empty response")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        payload = None
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict):
        _raise_for_http_status(raw, text, context, why="response is not BrickLink's envelope")
    try:
        meta_code = int(meta.get("code"))
    except (TypeError, ValueError):
        _raise_for_http_status(raw, text, context, why="meta.code missing or not a number")
    if meta_code in SUCCESS_CODES:
        return payload.get("data"), meta_code
    message = plain_text(meta.get("description") or meta.get("message") or "error")
    label = plain_text(meta.get("message") or "")
    raise _error_for(
        meta_code,
        f"{label}: {message}" if label and label not in message else message,
        raw,
        text,
        {**context, "meta_code": meta_code},
    )


def _error_for(
    code: int, message: str, raw: RawResponse, text: str, context: dict[str, Any]
) -> MarketplaceError:
    common = {**context, "http_status": raw.status, "body": text}
    if code == 401:
        return AuthError(message, **common)
    if code == 403:
        return PermissionDenied(message, **common)
    if code == 404:
        return NotFound(message, **common)
    if code == 429:
        retry_after = parse_retry_after(
            raw.headers.get("Retry-After"),
            default=seconds_until_next_utc_midnight(),
            cap=MAX_RETRY_AFTER,
        )
        return RateLimited(message, retry_after=retry_after, **common)
    if code >= 500:
        return TransientError(message, **common, ambiguous=context["method"] != "GET")
    if 400 <= code < 500:
        return BadRequest(message, **common)
    return TransientError(f"unexpected meta code {code}: {message}", **common)


def _raise_for_http_status(raw: RawResponse, text: str, context: dict[str, Any], *, why: str):
    """No usable envelope: the HTTP status decides; a 2xx without one is a broken reply."""
    status = raw.status
    if status in (401, 403, 404, 429) or (400 <= status < 500):
        raise _error_for(status, f"HTTP {status} ({why})", raw, text, context)
    looks_html = text.lstrip()[:1] == "<"
    kind = "gateway page" if looks_html else why
    raise TransientError(
        f"{kind} (HTTP {status})",
        **context,
        http_status=status,
        body=text,
        # A 2xx with a broken body means the request ran; a gateway page means it did not.
        ambiguous=context["method"] != "GET" and not (status in (502, 503, 504) and looks_html),
    )
