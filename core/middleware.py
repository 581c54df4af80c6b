from __future__ import annotations

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from .errors import error_json_response

logger = logging.getLogger("core.api")

_DEFAULT_ERRORS = {
    400: ("bad_request", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("request_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Request was throttled."),
    500: ("server_error", "Internal server error."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class ApiErrorMiddleware:
    """Keeps every error under ``/api/`` in the JSON envelope, whatever produced it.

    DRF views already answer in the envelope (``core.errors.api_exception_handler``). This
    catches what happens outside them: unresolved URLs, crashes, Django's own 400/413 pages,
    with ``DEBUG`` on or off.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400:
            return response
        if hasattr(response, "data") or _is_json(response):
            return response
        code, message = _DEFAULT_ERRORS.get(
            response.status_code, ("error", response.reason_phrase or "Error.")
        )
        replacement = error_json_response(response.status_code, code, message)
        for header in ("Retry-After", "WWW-Authenticate", "Allow"):
            if response.has_header(header):
                replacement[header] = response[header]
        return replacement

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
            return None
        if isinstance(exception, RequestDataTooBig):
            return error_json_response(413, *_DEFAULT_ERRORS[413])
        logger.exception(
            "Unhandled error on %s %s", request.method, request.path_info, exc_info=exception
        )
        return error_json_response(500, *_DEFAULT_ERRORS[500])


def _is_json(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, AttributeError):
        return False
    return isinstance(body, dict) and "error" in body
