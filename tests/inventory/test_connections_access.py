"""Marketplace connections through the API: owners only, of their own account only.

Every response any test here receives (API and admin) is checked for the credentials
(the `responses` fixture).
"""

import pytest

from inventory.models import MarketplaceConnection
from tests.factories import MarketplaceConnectionFactory
from tests.inventory.connection_helpers import (
    BRICKLINK,
    BRICKLINK_CREDENTIALS,
    BRICKOWL,
    BRICKOWL_CREDENTIALS,
    MARKETPLACES,
    error_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("responses", "published")]


def test_members_may_not_see_or_change_connections(member_client, account):
    MarketplaceConnectionFactory(account=account, provider="brickowl")
    error_of(member_client.get(MARKETPLACES), 403, "permission_denied")
    for path, credentials in [(BRICKLINK, BRICKLINK_CREDENTIALS), (BRICKOWL, {"api_key": "x"})]:
        response = member_client.put(path, {"enabled": False, "credentials": credentials})
        error_of(response, 403, "permission_denied")
    stored = MarketplaceConnection.objects.get()
    assert (stored.enabled, stored.credentials) == (True, {"api_key": "owl-key-for-tests"})
    assert MarketplaceConnection.objects.count() == 1


def test_connections_need_authentication(api_client):
    error_of(api_client.get(MARKETPLACES), 401, "not_authenticated")
    response = api_client.put(BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS})
    error_of(response, 401, "not_authenticated")
    assert not MarketplaceConnection.objects.exists()


def test_an_unknown_marketplace_is_404(owner_client):
    error_of(owner_client.put(f"{MARKETPLACES}ebay/", {"enabled": True}), 404, "not_found")
    error_of(owner_client.get(f"{MARKETPLACES}ebay/"), 404, "not_found")
    error_of(owner_client.delete(BRICKOWL), 405, "method_not_allowed")


def test_one_accounts_connection_is_not_anothers(owner_client, client_for):
    from tests.factories import MembershipFactory

    owner_client.put(BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS})
    stranger = client_for(MembershipFactory(role="owner").user)
    assert stranger.get(MARKETPLACES).json()[1] == {
        "provider": "brickowl",
        "enabled": False,
        "configured": False,
    }
    error_of(stranger.put(BRICKOWL, {"enabled": True}), 400)
