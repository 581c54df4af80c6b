"""Sessions to the two APIs of the session's sandbox (the ``sandbox`` fixture)."""

from __future__ import annotations

import pytest
import requests

from tests.marketplaces.sandbox.wire import oauth


@pytest.fixture
def bl(sandbox):
    """A session signing every request anew; ``bl.base`` is the API root."""
    session = requests.Session()
    session.auth = oauth()
    session.base = sandbox.bricklink_url
    yield session
    session.close()


@pytest.fixture
def owl(sandbox):
    """A BrickOwl session; the key goes in each request's query or form."""
    session = requests.Session()
    session.base = sandbox.brickowl_url
    yield session
    session.close()
