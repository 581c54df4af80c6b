"""One authenticated call on its way to a handler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marketplaces.sandbox.accounts import BrickLinkAccount
from marketplaces.sandbox.catalog import Catalog
from marketplaces.sandbox.state import SandboxState
from marketplaces.sandbox.wire import ApiRequest

from .envelope import BrickLinkError


@dataclass(slots=True)
class Call:
    """One authenticated call on its way to a handler."""

    state: SandboxState
    account: BrickLinkAccount
    request: ApiRequest
    params: tuple[str, ...]

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog

    def json_body(self) -> Any:
        content_type = self.request.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            raise BrickLinkError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type must be application/json, not {content_type or 'missing'}",
            )
        try:
            return json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BrickLinkError(
                400, "INVALID_REQUEST_BODY", f"The request body is not valid JSON: {exc}"
            ) from exc
