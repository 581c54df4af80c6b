"""The error envelope every ``/api/`` error is answered with.

``{"error": {"code": "...", "message": "...", "details": {...}}}`` with the right status,
never an HTML page and never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a code of the contract (``invalid_part_number``, ``part_not_found``...)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message or self.default_detail, code=code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.error_code = code or self.default_code
        self.details = details or {}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_json_response(
    status_code: int, code: str, message: str, details: Any = None
) -> JsonResponse:
    return JsonResponse(envelope(code, message, details), status=status_code)


def _message_of(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict) and detail:
        return _message_of(next(iter(detail.values())))
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every API exception becomes the envelope.

    Anything that is not an API exception returns ``None``, is re-raised by DRF, and is
    answered 500 by :class:`core.middleware.ApiErrorMiddleware` (which also logs it).
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()

    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    details: Any = {}
    if isinstance(exc, ApiError):
        code, message, details = exc.error_code, str(exc.detail), exc.details
    elif isinstance(exc, exceptions.ValidationError):
        code, message = "validation_error", "Invalid input."
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        if details:
            message = f"Invalid input: {_message_of(details)}"
    elif isinstance(exc, exceptions.Throttled):
        code, message = "throttled", str(exc.detail)
        if exc.wait is not None:
            wait = max(1, int(exc.wait + 0.999))
            headers["Retry-After"] = str(wait)
            details = {"retry_after": wait}
    else:
        code = exc.default_code
        message = _message_of(exc.detail)
    return Response(envelope(code, message, details), status=exc.status_code, headers=headers)
