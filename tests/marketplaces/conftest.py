"""Fixtures of the client tests: the hostile upstream (``hostile.py``)."""

from __future__ import annotations

import pytest

from marketplaces.http import sessions
from tests.marketplaces.hostile import MB, HostileServer, Upstream


@pytest.fixture
def hostile(settings):
    """A hostile server on a free local port, with tight limits for the clients."""
    settings.MARKETPLACE_CONNECT_TIMEOUT = 2.0
    settings.MARKETPLACE_READ_TIMEOUT = 2.0  # each drip arrives well within it
    settings.MARKETPLACE_DEADLINE = 2.0
    settings.MARKETPLACE_MAX_RESPONSE_BYTES = 1 * MB
    with HostileServer() as server:
        yield Upstream(server, settings)
    sessions.clear()
