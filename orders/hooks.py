"""Marketplaces' pushes: a BrickLink callback or a BrickOwl order notification makes the
store's feed run now. The secret in the URL names the store; an unknown one is a 404, and no
secret is ever written to a log (core/logs.py redacts hook paths)."""

from __future__ import annotations

import re

from inventory.models import MarketplaceConnection, Provider

from .services import feeds_due

ORDER_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def _connection(provider: str, secret: str) -> MarketplaceConnection | None:
    if not secret or len(secret) > 100:
        return None
    return MarketplaceConnection.objects.filter(provider=provider, callback_secret=secret).first()


def bricklink_pushed(*, secret: str) -> bool:
    """Answers whether the secret named a store (and so whether it was told)."""
    connection = _connection(Provider.BRICKLINK, secret)
    if connection is None:
        return False
    feeds_due(connections=[connection], notifications=True)
    return True


def brickowl_pushed(*, secret: str, order_id: str) -> bool:
    connection = _connection(Provider.BRICKOWL, secret)
    if connection is None:
        return False
    order_ids = [order_id] if ORDER_ID.match(order_id or "") else []
    feeds_due(connections=[connection], order_ids=order_ids)
    return True
