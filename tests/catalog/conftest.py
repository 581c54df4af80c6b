"""Fixtures shared by the catalog tests."""

import pytest


@pytest.fixture
def no_publishing(monkeypatch):
    """The refresh tests run jobs themselves: record what would be sent to a worker."""
    from catalog import work as catalog_work

    sent: list[tuple] = []
    monkeypatch.setattr(
        catalog_work, "publish_refresh", lambda *args, **kw: sent.append((args, kw))
    )
    return sent
