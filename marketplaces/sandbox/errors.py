"""What the sandbox's own endpoints (``/_control``, ``/_inventory``) refuse."""

from __future__ import annotations


class ControlError(ValueError):
    """A control request the sandbox refuses; nothing of it has been applied."""

    status = 400


class ControlNotFound(ControlError):
    status = 404
