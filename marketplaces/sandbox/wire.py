"""What a sandbox handler receives and answers, independent of the HTTP server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

JSON = "application/json"
BRICKLINK_CONTENT_TYPE = "text/html; charset=UTF-8"
HTML = "text/html"
NGINX_503_HTML = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center>"
    b"</body></html>"
)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


def dumps(payload: Any) -> bytes:
    """Compact JSON, as both marketplaces send it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, payload: Any, **kwargs: Any) -> Response:
    return Response(status, dumps(payload), **kwargs)


def nginx_503() -> Response:
    return Response(503, NGINX_503_HTML, HTML)


def first_values(query: str) -> dict[str, str]:
    """A query string or form body as a flat dict (first value wins, blanks kept)."""
    return {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}


@dataclass(slots=True)
class ApiRequest:
    """One request to a provider API. ``path`` is relative to the provider's prefix."""

    method: str
    path: str
    raw_query: str
    body: bytes
    headers: Any  # http.client.HTTPMessage
    uri: str  # http://{Host}{path}?{query}, what an OAuth client signed
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # parsed on first use (BrickOwl POSTs)


Handler = Callable[..., Response]


@dataclass(frozen=True, slots=True)
class Route:
    pattern: re.Pattern[str]
    template: str
    handlers: dict[str, Handler]


@dataclass(slots=True)
class RouteMatch:
    """The endpoint a request hits; ``handler`` is None when the method is not allowed."""

    template: str
    handler: Handler | None
    params: tuple[str, ...]
    known: bool = True


def route(pattern: str, template: str, **handlers: Handler) -> Route:
    return Route(re.compile(pattern), template, handlers)


def match_route(routes: list[Route], method: str, path: str) -> RouteMatch:
    for candidate in routes:
        found = candidate.pattern.match(path)
        if found:
            params = tuple(unquote(group) for group in found.groups())
            return RouteMatch(candidate.template, candidate.handlers.get(method), params)
    return RouteMatch("/{unknown}", None, (), known=False)
