"""One error family for both marketplaces. Nothing else escapes a client.

Each error says whether retrying can help (``retryable``) and, for transient failures of a
request that may have reached the marketplace, whether it may have been applied
(``ambiguous``): a BrickLink quantity PUT that timed out must be re-read, never replayed.
"""

from __future__ import annotations

from typing import Any


class MarketplaceError(Exception):
    code = "marketplace_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        method: str = "",
        path: str = "",
        http_status: int | None = None,
        meta_code: int | None = None,
        body: str = "",
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.method = method
        self.path = path
        self.http_status = http_status
        self.meta_code = meta_code
        # The marketplace's own words (truncated), for operators; never request data.
        self.body = body[:500]
        self.ambiguous = ambiguous

    def as_dict(self) -> dict[str, Any]:
        """What is stored as a ``last_error`` and shown to users: no object reprs, no secrets."""
        return {
            "code": self.code,
            "provider": self.provider,
            "http_status": self.http_status,
            "meta_code": self.meta_code,
            "message": self.message,
        }

    def __str__(self) -> str:
        status = f"HTTP {self.http_status}" if self.http_status is not None else "no response"
        meta = f", meta {self.meta_code}" if self.meta_code is not None else ""
        where = f" {self.method} {self.path}" if self.method else ""
        return f"{self.provider}{where}: {self.message} ({status}{meta})"


class NotFound(MarketplaceError):
    """The resource does not exist. Retrying will not help; remember it."""

    code = "not_found"


class BadRequest(MarketplaceError):
    """The marketplace refused what we sent (400, 405, 415, 422...): our bug or bad input."""

    code = "bad_request"


class AuthError(MarketplaceError):
    """Credentials or configuration are wrong (401). Needs a human, not a retry."""

    code = "auth_error"


class PermissionDenied(AuthError):
    """Authenticated, but not allowed (403)."""

    code = "permission_denied"


class RateLimited(MarketplaceError):
    """Too many calls. ``retry_after`` seconds is when trying again can succeed."""

    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "retry_after": self.retry_after}


class TransientError(MarketplaceError):
    """5xx, gateway pages, timeouts, broken connections, malformed answers: try again later."""

    code = "transient"
    retryable = True
