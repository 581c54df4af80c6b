"""Marketplace credentials at rest: a wrong key raises, and keys rotate.

That the database holds ciphertext only is tests/inventory/test_connections_api.py
::test_put_stores_the_credentials_encrypted.
"""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from inventory import crypto
from inventory.models import MarketplaceConnection
from tests.factories import AccountFactory, MarketplaceConnectionFactory

pytestmark = pytest.mark.django_db

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))
CREDENTIALS = {"api_key": "rotating-owl-key-5e1f"}


def stored(pk: int) -> str:
    table = MarketplaceConnection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def rotate() -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    return out.getvalue()


@pytest.fixture
def saved(settings):
    """Two connections saved under the OLD key."""
    settings.FIELD_ENCRYPTION_KEY = OLD
    return [
        MarketplaceConnectionFactory(account=AccountFactory(), credentials=CREDENTIALS)
        for _ in range(2)
    ]


def test_credentials_under_a_key_that_is_not_configured_raise(saved, settings):
    settings.FIELD_ENCRYPTION_KEY = STRANGER
    with pytest.raises(crypto.CredentialsUnreadable) as raised:
        MarketplaceConnection.objects.get(pk=saved[0].pk)
    assert CREDENTIALS["api_key"] not in str(raised.value)
    assert STRANGER not in str(raised.value)


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt(CREDENTIALS)


def test_rotation_re_encrypts_every_credential_under_the_first_key(saved, settings):
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"  # newest first: both decrypt
    before = [stored(c.pk) for c in saved]
    assert "rotated 2, already under the first key 0, unreadable 0" in rotate()
    for connection_, old_token in zip(saved, before, strict=True):
        token = stored(connection_.pk)
        assert token != old_token
        assert Fernet(NEW.encode()).decrypt(token.encode())  # under the new key alone
    # The old key can go: everything still decrypts.
    settings.FIELD_ENCRYPTION_KEY = NEW
    for connection_ in saved:
        assert MarketplaceConnection.objects.get(pk=connection_.pk).credentials == CREDENTIALS


def test_rotation_is_idempotent(saved, settings):
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    rotate()
    after_first = [stored(c.pk) for c in saved]
    assert "rotated 0, already under the first key 2, unreadable 0" in rotate()
    assert [stored(c.pk) for c in saved] == after_first


def test_rotation_leaves_credentials_no_key_opens_and_says_so(saved, settings):
    settings.FIELD_ENCRYPTION_KEY = STRANGER
    lost = MarketplaceConnectionFactory(account=AccountFactory(), credentials=CREDENTIALS)
    lost_token = stored(lost.pk)
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    with pytest.raises(CommandError, match=rf"connection\(s\) {lost.pk} cannot be decrypted"):
        rotate()
    assert stored(lost.pk) == lost_token  # untouched, not destroyed
    for connection_ in saved:  # the others were rotated all the same
        assert Fernet(NEW.encode()).decrypt(stored(connection_.pk).encode())


def test_rotation_never_overwrites_a_credential_saved_meanwhile(saved, settings, monkeypatch):
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    target = saved[0]
    original_rotate = crypto.rotate

    def rotate_while_the_owner_saves(token: str) -> str:
        rotated = original_rotate(token)
        if token == old_token:  # the owner saves new credentials between read and write
            MarketplaceConnection.objects.filter(pk=target.pk).update(
                credentials={"api_key": "saved-meanwhile"}
            )
        return rotated

    old_token = stored(target.pk)
    monkeypatch.setattr(crypto, "rotate", rotate_while_the_owner_saves)
    rotate()
    assert MarketplaceConnection.objects.get(pk=target.pk).credentials == {
        "api_key": "saved-meanwhile"
    }
