"""Marketplace connections through the API: bad credentials and bodies are refused,
without being echoed, and nothing is written.

Every response any test here receives (API and admin) is checked for the credentials
(the `responses` fixture).
"""

import pytest

from inventory.models import MarketplaceConnection, SyncState
from tests.inventory.connection_helpers import (
    BRICKLINK,
    BRICKLINK_CREDENTIALS,
    BRICKOWL,
    BRICKOWL_CREDENTIALS,
    error_of,
    make_item,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("responses", "published")]


@pytest.mark.parametrize("missing", list(BRICKLINK_CREDENTIALS))
def test_put_names_a_missing_credential_without_showing_any(owner_client, missing):
    given = {key: value for key, value in BRICKLINK_CREDENTIALS.items() if key != missing}
    error = error_of(owner_client.put(BRICKLINK, {"enabled": True, "credentials": given}), 400)
    assert list(error["details"]) == ["credentials"]
    assert list(error["details"]["credentials"]) == [missing]
    assert not MarketplaceConnection.objects.exists()


@pytest.mark.parametrize(
    "credentials",
    [
        {"api_key": ""},
        {"api_key": "   "},
        {"api_key": None},
        {"api_key": ["owl-api-key-2e6f"]},
        {"api_key": {"nested": "owl-api-key-2e6f"}},
        {"api_key": "owl-api-key-2e6f" * 100},
        {"api_key": "owl-api-key-2e6f\x00"},
        {},
    ],
)
def test_put_rejects_a_bad_credential_without_echoing_it(owner_client, credentials):
    error = error_of(owner_client.put(BRICKOWL, {"enabled": True, "credentials": credentials}), 400)
    assert list(error["details"]["credentials"]) == ["api_key"]
    assert not MarketplaceConnection.objects.exists()


@pytest.mark.parametrize("credentials", ["owl-api-key-2e6f", ["owl-api-key-2e6f"], 42, True])
def test_put_rejects_credentials_that_are_not_an_object(owner_client, credentials):
    error = error_of(owner_client.put(BRICKOWL, {"enabled": True, "credentials": credentials}), 400)
    assert list(error["details"]) == ["credentials"]
    assert not MarketplaceConnection.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"enabled": "yes"},
        {"enabled": 1},
        {"enabled": None},
        {"enabled": "true"},
        {"credentials": BRICKOWL_CREDENTIALS},
    ],
)
def test_put_needs_enabled_true_or_false(owner_client, body):
    error = error_of(owner_client.put(BRICKOWL, body), 400)
    assert "enabled" in error["details"]
    assert not MarketplaceConnection.objects.exists()


def test_enabling_without_credentials_is_400_and_writes_nothing(
    owner_client, account, django_capture_on_commit_callbacks
):
    make_item(account)
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.put(BRICKLINK, {"enabled": True})
        null = owner_client.put(BRICKLINK, {"enabled": True, "credentials": None})
    for answer in (response, null):
        error = error_of(answer, 400)
        assert list(error["details"]) == ["credentials"]
    assert not MarketplaceConnection.objects.exists()
    assert callbacks == []
    assert not SyncState.objects.exclude(status="disabled").exists()
