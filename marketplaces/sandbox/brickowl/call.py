"""One call on its way to a handler, and the error a handler answers with."""

from __future__ import annotations

from dataclasses import dataclass

from marketplaces.sandbox.accounts import BrickOwlAccount
from marketplaces.sandbox.catalog import Catalog
from marketplaces.sandbox.state import SandboxState
from marketplaces.sandbox.wire import ApiRequest


class BrickOwlError(Exception):
    """An answer ``{"error": message}`` with a real HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(slots=True)
class Call:
    state: SandboxState
    account: BrickOwlAccount
    request: ApiRequest
    form: dict[str, str]

    @property
    def catalog(self) -> Catalog:
        return self.state.catalog


def bad(message: str) -> BrickOwlError:
    return BrickOwlError(400, message)
