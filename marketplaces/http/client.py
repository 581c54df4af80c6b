"""The base of both clients: one call sent, decoded, classified, logged and counted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from core.metrics import record_marketplace_call
from marketplaces.errors import MarketplaceError, TransientError

from .transport import SAFE_METHODS, HttpConfig, RawResponse, send

# Named, not __name__: log queries and tests know the calls' lines by this logger's name.
logger = logging.getLogger("marketplaces.http")

T = TypeVar("T")
# What decoding a hostile or broken answer can raise besides our own errors.
UNDECODABLE = (ValueError, TypeError, ArithmeticError, LookupError, AttributeError, RecursionError)


class MarketplaceClient:
    """Base of both clients: sends, classifies transport failures, logs one line and counts
    each call (``brickops_marketplace_requests_total`` and its duration)."""

    provider = "marketplace"

    def __init__(self, *, base_url: str, session: requests.Session, http: HttpConfig) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.http = http

    def _call(
        self,
        method: str,
        template: str,
        decode: Callable[[RawResponse, str, str], tuple[T, int | None]],
        *,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        max_bytes: int | None = None,
    ) -> T:
        """Send one request and decode it; ``decode`` answers ``(value, meta code or None)``."""
        started = time.monotonic()
        try:
            raw = send(
                self.session,
                self.http,
                provider=self.provider,
                base_url=self.base_url,
                method=method,
                template=template,
                path_params=path_params,
                params=params,
                json=json,
                data=data,
                max_bytes=max_bytes,
            )
            try:
                result, meta_code = decode(raw, method, template)
            except UNDECODABLE as exc:
                # Whatever the marketplace sent (infinities, 10^5000, lists for objects...),
                # the caller sees one of our errors, never a ValueError or RecursionError.
                raise TransientError(
                    f"malformed response ({type(exc).__name__})",
                    provider=self.provider,
                    method=method,
                    path=template,
                    http_status=raw.status,
                    ambiguous=method not in SAFE_METHODS,
                ) from None
        except MarketplaceError as exc:
            self._record(method, template, exc.http_status, exc.meta_code, started, exc.code)
            raise
        self._record(method, template, raw.status, meta_code, started, "ok")
        return result

    def _record(
        self,
        method: str,
        template: str,
        status: int | None,
        meta_code: int | None,
        started: float,
        outcome: str,
    ) -> None:
        """One log line and the call's metrics, both keyed by the path *template*."""
        seconds = time.monotonic() - started
        record_marketplace_call(
            provider=self.provider,
            method=method,
            template=template,
            outcome=outcome,
            seconds=seconds,
        )
        duration_ms = seconds * 1000
        logger.log(
            logging.INFO if outcome == "ok" else logging.WARNING,
            "%s %s %s -> %s meta=%s %s in %.1fms",
            self.provider,
            method,
            template,
            status if status is not None else "-",
            meta_code if meta_code is not None else "-",
            outcome,
            duration_ms,
            extra={
                "provider": self.provider,
                "method": method,
                "path": template,
                "status": status,
                "meta_code": meta_code,
                "outcome": outcome,
                "duration_ms": round(duration_ms, 1),
            },
        )
