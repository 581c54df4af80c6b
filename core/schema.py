"""OpenAPI: every operation documents the errors it can answer, in the one envelope.

A drf-spectacular post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``):
views document their successes; the error statuses follow from what an operation takes (a body,
parameters, a path id, authentication), so they are added here in one place and a new endpoint
gets them without anyone remembering to.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every error under /api/: `{"error": {"code", "message", "details"}}`.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "Per-field messages for a validation error; otherwise "
                    "extra facts about the error (e.g. `retry_after`), or empty.",
                },
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

DESCRIPTIONS = {
    "400": "Invalid input (`validation_error` with per-field `details`, `parse_error`, "
    "`invalid_part_number`...): nothing was written.",
    "401": "Missing or bad credentials.",
    "403": "Not allowed: the caller has no account, or is not an owner.",
    "404": "No such object in the caller's account (another account's is 404 too), no such "
    "page, or a part BrickLink says does not exist (`part_not_found`).",
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
    "429": "Throttled: try again after `Retry-After` seconds.",
    "500": "Internal error (logged; no details are given).",
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}
METHODS = ("get", "put", "post", "patch", "delete")


def _error_statuses(path: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    authenticated = {} not in operation.get("security", [{}])
    statuses = ["401", "429", "500"]
    if has_body or parameters:
        statuses.append("400")
    if authenticated:
        statuses.append("403")
    paginated = any(p.get("name") == "page" for p in parameters)
    if "{" in path or paginated:
        statuses.append("404")
    if has_body:
        statuses += ["413", "415"]
    return sorted(statuses)


def document_errors(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, item in result.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(path, operation):
                response = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": reference}},
                }
                if status == "429":
                    response["headers"] = RETRY_AFTER
                responses.setdefault(status, response)
    return result
