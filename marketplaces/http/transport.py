"""One request over the wire: timeouts, the call's deadline, the size cap, no redirects, and
transport failures classified into :mod:`marketplaces.errors`.

Messages never include URLs (BrickOwl's key travels in them) and errors are raised ``from None``
so a logged traceback cannot carry one either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from django.conf import settings
from requests.structures import CaseInsensitiveDict

from marketplaces.errors import BadRequest, TransientError

from .deadline import call_deadline

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    deadline: float = 30.0
    max_response_bytes: int = 16 * 1024 * 1024

    @classmethod
    def from_settings(cls) -> HttpConfig:
        return cls(
            connect_timeout=settings.MARKETPLACE_CONNECT_TIMEOUT,
            read_timeout=settings.MARKETPLACE_READ_TIMEOUT,
            deadline=settings.MARKETPLACE_DEADLINE,
            max_response_bytes=settings.MARKETPLACE_MAX_RESPONSE_BYTES,
        )


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: CaseInsensitiveDict
    body: bytes


def send(
    session: requests.Session,
    http: HttpConfig,
    *,
    provider: str,
    base_url: str,
    method: str,
    template: str,
    path_params: dict[str, Any] | None,
    params: dict[str, Any] | None,
    json: Any,
    data: dict[str, Any] | None,
    max_bytes: int | None,
) -> RawResponse:
    """Send one request and read its whole answer before the deadline, or raise."""
    path = template.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
    url = f"{base_url}{path}"
    may_apply = method not in SAFE_METHODS
    limit = max_bytes or http.max_response_bytes
    late = f"response not complete within the {http.deadline}s deadline"

    with call_deadline(http.deadline) as watched:
        deadline = watched.at

        def fail(message: str, *, ambiguous: bool, status: int | None = None) -> TransientError:
            if watched.expired:  # whatever broke, it broke because the watchdog cut it off
                message, ambiguous = late, True
            return TransientError(
                message,
                provider=provider,
                method=method,
                path=template,
                http_status=status,
                ambiguous=may_apply and ambiguous,
            )

        try:
            response = session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                timeout=(http.connect_timeout, http.read_timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.ConnectTimeout:
            raise fail("connect timeout", ambiguous=False) from None
        except requests.ReadTimeout:
            raise fail(f"no response within {http.read_timeout}s", ambiguous=True) from None
        except requests.ConnectionError as exc:
            refused = _connection_never_made(exc)
            message = "connection refused" if refused else "connection broken"
            raise fail(message, ambiguous=not refused) from None
        except requests.RequestException as exc:
            raise fail(f"request failed ({type(exc).__name__})", ambiguous=True) from None

        try:
            if 300 <= response.status_code < 400:
                raise BadRequest(
                    "unexpected redirect (not followed)",
                    provider=provider,
                    method=method,
                    path=template,
                    http_status=response.status_code,
                )
            if _declared_length(response.headers) > limit:
                raise fail(
                    f"response larger than {limit} bytes (Content-Length)",
                    ambiguous=True,
                    status=response.status_code,
                )
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise fail(late, ambiguous=True, status=response.status_code)
                chunk = response.raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise fail(
                        f"response larger than {limit} bytes",
                        ambiguous=True,
                        status=response.status_code,
                    )
            if watched.expired:  # cut off: the end of the stream was not the end of the body
                raise fail(late, ambiguous=True, status=response.status_code)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise fail(
                f"response broken off ({type(exc).__name__})",
                ambiguous=True,
                status=response.status_code,
            ) from None
        finally:
            response.close()
        return RawResponse(status=response.status_code, headers=response.headers, body=bytes(body))


def _declared_length(headers: CaseInsensitiveDict) -> int:
    """The ``Content-Length`` a response announces; 0 when absent or unreadable."""
    value = (headers.get("Content-Length") or "").strip()
    if not value.isdigit() or not value.isascii():
        return 0
    return int(value) if len(value) < 20 else 10**20


def _connection_never_made(exc: requests.ConnectionError) -> bool:
    """True when the request certainly never reached the server (refused, DNS failure)."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    )
