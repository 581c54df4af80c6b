"""BrickLink's answers: the ``{"meta", "data"}`` envelope, labelled ``text/html``.

Errors are :class:`BrickLinkError`; the API turns them into an envelope, with HTTP 200 unless
``bricklink_error_http_status`` is ``"real"``.
"""

from __future__ import annotations

from typing import Any

from marketplaces.sandbox.catalog import Catalog
from marketplaces.sandbox.wire import BRICKLINK_CONTENT_TYPE, Response, dumps

_OK = {"code": 200, "message": "OK", "description": "OK"}
_NO_DATA = object()


class BrickLinkError(Exception):
    """An answer in BrickLink's error envelope. ``http_status`` forces the HTTP status."""

    def __init__(
        self,
        code: int,
        message: str,
        description: str,
        *,
        http_status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(description)
        self.code, self.message, self.description = code, message, description
        self.http_status = http_status
        self.headers = headers


def invalid(description: str) -> BrickLinkError:
    return BrickLinkError(400, "PARAMETER_MISSING_OR_INVALID", description)


def not_found(description: str) -> BrickLinkError:
    return BrickLinkError(404, "RESOURCE_NOT_FOUND", description)


def envelope(
    code: int, message: str, description: str, data: Any = _NO_DATA, *, http_status: int = 200
) -> Response:
    payload: dict[str, Any] = {
        "meta": {"code": code, "message": message, "description": description}
    }
    if data is not _NO_DATA:
        payload["data"] = data
    return Response(http_status, dumps(payload), BRICKLINK_CONTENT_TYPE)


def ok(data: Any = _NO_DATA, *, code: int = 200, message: str = "OK") -> Response:
    return envelope(code, message, message, data)


def cached_ok(catalog: Catalog, key: object, build) -> Response:
    """A catalog answer serialized once per seed: the catalog never changes under it."""
    return Response(
        200,
        catalog.cached_json(key, lambda: {"meta": _OK, "data": build()}),
        BRICKLINK_CONTENT_TYPE,
    )
