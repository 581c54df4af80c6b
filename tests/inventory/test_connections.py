"""Marketplace connections through the API: owner only, credentials write-only and encrypted.

Every response any test here receives (API and admin) is checked for the credentials.
"""

import json
import logging
import re

import pytest
from django.db import connection
from django.test.client import Client
from django.urls import reverse

from inventory import services
from inventory.models import MarketplaceConnection, SyncState
from tests.factories import AccountFactory, MarketplaceConnectionFactory

pytestmark = pytest.mark.django_db

MARKETPLACES = "/api/v1/marketplaces/"
BRICKLINK = f"{MARKETPLACES}bricklink/"
BRICKOWL = f"{MARKETPLACES}brickowl/"

BRICKLINK_CREDENTIALS = {
    "consumer_key": "bl-consumer-key-7f3a",
    "consumer_secret": "bl-consumer-secret-91c2",
    "token_value": "bl-token-value-5d0e",
    "token_secret": "bl-token-secret-c4b8",
}
BRICKOWL_CREDENTIALS = {"api_key": "owl-api-key-2e6f"}
SECRETS = [*BRICKLINK_CREDENTIALS.values(), *BRICKOWL_CREDENTIALS.values()]


def assert_no_secret(text: str, secrets=SECRETS) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.fixture(autouse=True)
def responses(monkeypatch):
    """Every response of the test, each already checked for credentials."""
    seen = []
    original = Client.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        assert_no_secret(response.content.decode(errors="replace") + str(response.headers))
        seen.append(response)
        return response

    monkeypatch.setattr(Client, "request", request)
    return seen


@pytest.fixture(autouse=True)
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "inventory.work.publish_sync",
        lambda item_id, provider, countdown=None: calls.append((item_id, provider)),
    )
    monkeypatch.setattr("inventory.work.publish_sweep", lambda: calls.append("sweep"))
    return calls


def error_of(response, status, code="validation_error"):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def raw_credentials(account, provider) -> str | None:
    """The column as PostgreSQL stores it, past the model field's decryption."""
    table = MarketplaceConnection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials FROM {table} WHERE account_id = %s AND provider = %s",
            [account.id, provider],
        )
        return cursor.fetchone()[0]


def make_item(account, **data):
    return services.item_create(
        account=account,
        actor=None,
        data={"part_number": "3001", "color_id": 11, "condition": "new", **data},
    )


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


# --- who may -----------------------------------------------------------------------------------


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


def without_push_url(answer: dict) -> dict:
    """A connection's answer less its push URL (tests/orders/test_api.py checks that)."""
    url = answer.pop("callback_url")
    assert url is None or re.fullmatch(r"http://testserver/api/v1/hooks/\w+/[\w-]{40,}/", url)
    return answer


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


# --- never shown -------------------------------------------------------------------------------


def test_credentials_never_reach_the_logs(
    owner_client, account, caplog, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True  # SQL is logged, with its parameters, at DEBUG
    for name in ("", "django.db.backends", "django.request", "inventory", "core"):
        caplog.set_level(logging.DEBUG, logger=name)
    make_item(account)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.put(BRICKLINK, {"enabled": True, "credentials": BRICKLINK_CREDENTIALS})
        owner_client.put(BRICKOWL, {"enabled": True, "credentials": BRICKOWL_CREDENTIALS})
        partial = dict(list(BRICKLINK_CREDENTIALS.items())[:3])
        owner_client.put(BRICKLINK, {"enabled": True, "credentials": partial})
        owner_client.put(BRICKOWL, {"enabled": True, "credentials": {"api_key": SECRETS[-1] * 99}})
        owner_client.put(BRICKOWL, {"enabled": True, "credentials": SECRETS[-1]})
        owner_client.get(MARKETPLACES)
    assert any("inventory_marketplaceconnection" in r.getMessage() for r in caplog.records)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert_no_secret(logged + caplog.text)


def test_admin_never_shows_credentials(admin_client, account):
    stored = MarketplaceConnectionFactory(
        account=account, provider="bricklink", credentials=BRICKLINK_CREDENTIALS
    )
    ciphertext = raw_credentials(account, "bricklink")
    pages = [
        reverse("admin:inventory_marketplaceconnection_changelist"),
        reverse("admin:inventory_marketplaceconnection_changelist") + "?q=bricklink",
        reverse("admin:inventory_marketplaceconnection_change", args=[stored.pk]),
        reverse("admin:inventory_marketplaceconnection_history", args=[stored.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        content = response.content.decode()
        assert_no_secret(content, [*SECRETS, ciphertext])
        assert 'name="credentials"' not in content
    change = admin_client.get(pages[2]).content.decode()
    assert "bricklink" in change.lower()


def test_admin_switch_off_action_goes_through_the_service(admin_client, account):
    make_item(account)
    stored = MarketplaceConnectionFactory(account=account, provider="brickowl")
    services.item_sync_now(item=account.items.get())
    response = admin_client.post(
        reverse("admin:inventory_marketplaceconnection_changelist"),
        {"action": "switch_off", "_selected_action": [stored.pk]},
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert (stored.enabled, stored.credentials) == (False, {"api_key": "owl-key-for-tests"})
    assert SyncState.objects.get(provider="brickowl").status == "disabled"
