"""Marketplace credentials never shown: not in the logs, not in the admin.

Every response any test here receives (API and admin) is checked for the credentials
(the `responses` fixture).
"""

import logging

import pytest
from django.urls import reverse

from inventory import services
from inventory.models import SyncState
from tests.factories import MarketplaceConnectionFactory
from tests.inventory.connection_helpers import (
    BRICKLINK,
    BRICKLINK_CREDENTIALS,
    BRICKOWL,
    BRICKOWL_CREDENTIALS,
    MARKETPLACES,
    SECRETS,
    assert_no_secret,
    make_item,
    raw_credentials,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("responses", "published")]


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
