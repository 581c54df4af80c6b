"""BrickOwl's answers, read: real HTTP statuses, bare JSON, an undocumented error body.

A non-2xx answer, or a mutation answered without ``"status": "success"``, is a failure and
keeps the raw body. See ``docs/marketplaces.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from marketplaces.errors import (
    AuthError,
    BadRequest,
    MarketplaceError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from marketplaces.http import RawResponse, parse_retry_after

from .parsing import PROVIDER

T = TypeVar("T")

# BrickOwl's limits are per minute: a 429 without a usable Retry-After waits one window.
DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 15 * 60.0


def decoder(parse: Callable[[Any], T]) -> Callable[[RawResponse, str, str], tuple[T, None]]:
    """A call's decoder: the classified error, or ``parse`` of the JSON body."""

    def decode(raw: RawResponse, method: str, template: str) -> tuple[T, None]:
        context = {"provider": PROVIDER, "method": method, "path": template}
        text = raw.body.decode("utf-8", errors="replace")
        if not 200 <= raw.status < 300:
            raise error_for(raw.status, text, context, raw.headers.get("Retry-After"))
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise TransientError(
                "malformed JSON in a 2xx answer",
                **context,
                http_status=raw.status,
                body=text,
                ambiguous=method != "GET",
            ) from None
        try:
            return parse(data), None
        except MarketplaceError as exc:
            exc.method, exc.path, exc.http_status = method, template, raw.status
            exc.body = exc.body or text[:500]
            exc.ambiguous = method != "GET" and isinstance(exc, TransientError)
            raise

    return decode


def success(data: Any) -> dict[str, Any]:
    """A mutation succeeded only if BrickOwl says ``"status": "success"``."""
    row = data if isinstance(data, dict) else {}
    if row.get("status") != "success":
        raise BadRequest(
            f"BrickOwl did not confirm success (status={row.get('status')!r})",
            provider=PROVIDER,
            body=json.dumps(data)[:500] if data is not None else "",
        )
    return row


def error_for(
    status: int, text: str, context: dict[str, Any], retry_after: str | None = None
) -> MarketplaceError:
    """The error a non-2xx answer (a whole call's, or one request's in a batch) stands for."""
    message = _error_message(text) or f"HTTP {status}"
    common = {**context, "http_status": status, "body": text}
    if status == 401:
        return AuthError(message, **common)
    if status == 403:
        return PermissionDenied(message, **common)
    if status == 404:
        return NotFound(message, **common)
    if status == 429:
        wait = parse_retry_after(retry_after, default=DEFAULT_RETRY_AFTER, cap=MAX_RETRY_AFTER)
        return RateLimited(message, retry_after=wait, **common)
    if status >= 500 or status < 200:
        looks_html = text.lstrip()[:1] == "<"
        return TransientError(
            "gateway page" if looks_html else message,
            **common,
            ambiguous=context["method"] != "GET" and not (status in (502, 503, 504) and looks_html),
        )
    return BadRequest(message, **common)


def _error_message(text: str) -> str:
    """BrickOwl's error body is undocumented: take a message if one is there."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict):
        for key in ("error", "message", "status"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict):
                return json.dumps(value)[:300]
    return ""
