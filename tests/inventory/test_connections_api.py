"""Marketplace connections through the API: listing them, storing credentials encrypted,
switching a connection on and off, and the syncs that follow.

Every response any test here receives (API and admin) is checked for the credentials
(the `responses` fixture).
"""

import json

import pytest

from inventory import services
from inventory.models import MarketplaceConnection, SyncState
from tests.factories import AccountFactory, MarketplaceConnectionFactory
from tests.inventory.connection_helpers import (
    BRICKLINK,
    BRICKLINK_CREDENTIALS,
    BRICKOWL,
    BRICKOWL_CREDENTIALS,
    MARKETPLACES,
    assert_no_secret,
    make_item,
    raw_credentials,
    without_push_url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("responses", "published")]


def test_every_response_is_checked(owner_client, responses):
    owner_client.get(MARKETPLACES)
    assert len(responses) == 1


# --- reading -----------------------------------------------------------------------------------


def test_marketplaces_lists_both_providers_unconfigured(owner_client):
    response = owner_client.get(MARKETPLACES)
    assert response.status_code == 200
    assert response.json() == [
        {"provider": "bricklink", "enabled": False, "configured": False},
        {"provider": "brickowl", "enabled": False, "configured": False},
    ]


def test_marketplaces_shows_the_accounts_own_connections_only(owner_client, account):
    MarketplaceConnectionFactory(account=account, provider="brickowl", enabled=True)
    MarketplaceConnectionFactory(account=AccountFactory(), provider="bricklink", enabled=True)
    MarketplaceConnectionFactory(
        account=account, provider="bricklink", enabled=False, credentials=None
    )
    assert owner_client.get(MARKETPLACES).json() == [
        {"provider": "bricklink", "enabled": False, "configured": False},
        {"provider": "brickowl", "enabled": True, "configured": True},
    ]


# --- writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "provider", "credentials"),
    [(BRICKLINK, "bricklink", BRICKLINK_CREDENTIALS), (BRICKOWL, "brickowl", BRICKOWL_CREDENTIALS)],
)
def test_put_stores_the_credentials_encrypted(owner_client, account, path, provider, credentials):
    response = owner_client.put(path, {"enabled": True, "credentials": credentials})
    assert response.status_code == 200, response.content
    assert without_push_url(response.json()) == {
        "provider": provider,
        "enabled": True,
        "configured": True,
    }
    raw = raw_credentials(account, provider)
    assert raw
    assert_no_secret(raw)
    with pytest.raises(json.JSONDecodeError):  # ciphertext, not a JSON document
        json.loads(raw)
    assert MarketplaceConnection.objects.get(account=account, provider=provider).credentials == (
        credentials
    )
    listed = {row["provider"]: row for row in owner_client.get(MARKETPLACES).json()}
    assert listed[provider] == {"provider": provider, "enabled": True, "configured": True}


def test_put_replaces_credentials_and_keeps_only_the_known_keys(owner_client, account):
    owner_client.put(BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS})
    response = owner_client.put(
        BRICKOWL,
        {"enabled": True, "credentials": {"api_key": "  owl-new-key  ", "extra": "dropped"}},
    )
    assert response.status_code == 200
    stored = MarketplaceConnection.objects.get(account=account, provider="brickowl")
    assert stored.credentials == {"api_key": "owl-new-key"}
    assert MarketplaceConnection.objects.count() == 1


def test_put_ignores_fields_the_api_owns(owner_client, account):
    other = AccountFactory()
    response = owner_client.put(
        BRICKOWL,
        {
            "enabled": False,
            "credentials": BRICKOWL_CREDENTIALS,
            "provider": "bricklink",
            "account": other.id,
            "configured": False,
        },
    )
    assert without_push_url(response.json()) == {
        "provider": "brickowl",
        "enabled": False,
        "configured": True,
    }
    stored = MarketplaceConnection.objects.get()
    assert (stored.account, stored.provider) == (account, "brickowl")


def test_a_connection_can_be_saved_off_without_credentials(owner_client):
    response = owner_client.put(BRICKLINK, {"enabled": False})
    assert without_push_url(response.json()) == {
        "provider": "bricklink",
        "enabled": False,
        "configured": False,
    }


def test_toggling_a_configured_connection_needs_no_credentials(owner_client, account):
    MarketplaceConnectionFactory(
        account=account, provider="brickowl", enabled=False, credentials=BRICKOWL_CREDENTIALS
    )
    on = owner_client.put(BRICKOWL, {"enabled": True})
    assert on.status_code == 200
    assert without_push_url(on.json()) == {
        "provider": "brickowl",
        "enabled": True,
        "configured": True,
    }
    off = owner_client.put(BRICKOWL, {"enabled": False, "credentials": None})
    assert without_push_url(off.json()) == {
        "provider": "brickowl",
        "enabled": False,
        "configured": True,
    }
    stored = MarketplaceConnection.objects.get(account=account, provider="brickowl")
    assert (stored.enabled, stored.credentials) == (False, BRICKOWL_CREDENTIALS)


def test_connecting_a_marketplace_syncs_every_live_item_of_the_account(
    owner_client, account, django_capture_on_commit_callbacks, published
):
    live = [make_item(account, quantity_available=n) for n in (1, 2)]
    archived = make_item(account)
    services.item_archive(item=archived, actor=None)
    foreign = make_item(AccountFactory())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.put(
            BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS}
        )
    assert response.status_code == 200
    owl = {state.item_id: state.status for state in SyncState.objects.filter(provider="brickowl")}
    assert {item.id: owl[item.id] for item in live} == {item.id: "syncing" for item in live}
    assert (owl[archived.id], owl[foreign.id]) == ("disabled", "disabled")
    assert not SyncState.objects.filter(provider="bricklink").exclude(status="disabled").exists()
    assert len(callbacks) == 1
    assert sorted(published) == sorted((item.id, "brickowl") for item in live)
    item_view = owner_client.get(f"/api/v1/inventory/items/{live[0].id}/").json()
    assert item_view["sync"]["brickowl"]["status"] == "syncing"

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.put(BRICKOWL, {"enabled": False})
    assert set(SyncState.objects.filter(provider="brickowl").values_list("status", flat=True)) == {
        "disabled"
    }
    assert published == []


def test_saving_the_same_live_connection_again_schedules_nothing(
    owner_client, account, django_capture_on_commit_callbacks
):
    make_item(account)
    owner_client.put(BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS})
    with django_capture_on_commit_callbacks() as callbacks:
        again = owner_client.put(BRICKOWL, {"enabled": True})
    assert again.status_code == 200
    assert callbacks == []
