"""Marketplace credentials, encrypted at rest with Fernet (``cryptography``).

``FIELD_ENCRYPTION_KEY`` holds one key, or several separated by commas: the first encrypts,
all of them decrypt (``MultiFernet``), so a key is rotated by putting the new one first and
running ``manage.py rotate_encryption_key``, then dropping the old one.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models


class CredentialsUnreadable(Exception):
    """Stored credentials cannot be decrypted with the configured keys."""


@cache
def _keys() -> tuple[Fernet, ...]:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEY.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty")
    try:
        return tuple(Fernet(key) for key in keys)
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not a valid Fernet key") from exc


@cache
def _fernet() -> MultiFernet:
    return MultiFernet(list(_keys()))


def _forget(setting: str, **kwargs) -> None:
    if setting == "FIELD_ENCRYPTION_KEY":
        _keys.cache_clear()
        _fernet.cache_clear()


setting_changed.connect(_forget)


def encrypt(value: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from None


def is_current(token: str) -> bool:
    """Encrypted under the first (newest) key already: rotating it would change nothing."""
    try:
        _keys()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """Re-encrypt under the first key (decrypting with any)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from None


class EncryptedJSONField(models.TextField):
    """A JSON object stored as Fernet ciphertext; plaintext never reaches the database."""

    description = "JSON encrypted with FIELD_ENCRYPTION_KEY"

    def from_db_value(self, value, expression, connection):
        return None if value in (None, "") else decrypt(value)

    def to_python(self, value):
        if value is None or isinstance(value, dict):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        return None if value is None else encrypt(value)

    def value_to_string(self, obj) -> str:  # never in fixtures or dumps
        return ""
