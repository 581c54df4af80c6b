"""Shared by the security tests: two accounts with data, and their callers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from accounts.models import Account, User
from catalog.models import Category, Color
from core import clock
from inventory import services
from inventory.models import InventoryItem, MarketplaceConnection
from orders.models import Order
from takeover.models import StoreImport
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    OrderLineFactory,
    PartFactory,
    part_colors,
    price_guides,
    token_for,
)

BRICKLINK_SECRETS = {
    "consumer_key": "sec-bl-consumer-key-0a1b",
    "consumer_secret": "sec-bl-consumer-secret-2c3d",
    "token_value": "sec-bl-token-value-4e5f",
    "token_secret": "sec-bl-token-secret-6a7b",
}
BRICKOWL_SECRETS = {"api_key": "sec-owl-api-key-8c9d"}


@dataclass
class Tenant:
    account: Account
    owner: User
    member: User
    owner_token: str
    member_token: str
    items: list[InventoryItem]
    order: Order | None = None
    secrets: dict[str, str] | None = None  # provider -> the store's push URL secret
    store_import: StoreImport | None = None  # a finished takeover of its BrickOwl store

    def ids(self, item: InventoryItem | None = None) -> dict[str, object]:
        """What fills a path's parameters with this account's own objects."""
        line = self.order.lines.first() if self.order else None
        return {
            "item_id": (item or self.items[0]).pk,
            "order_id": self.order.pk if self.order else 0,
            "line_id": line.pk if line else 0,
            "import_id": self.store_import.pk if self.store_import else 0,
            **{f"secret:{p}": secret for p, secret in (self.secrets or {}).items()},
        }


def make_tenant(name: str, *, connect: bool = True) -> Tenant:
    """An account with an owner, a member, three items (one archived) and both connections."""
    account = AccountFactory(name=name)
    owner = MembershipFactory(account=account, role="owner").user
    member = MembershipFactory(account=account, role="member").user
    data = {
        "color_id": 11,
        "condition": "new",
        "quantity_available": 5,
        "price": Decimal("0.25"),
        "notes": f"{name} notes",
    }
    items = [
        services.item_create(account=account, actor=owner, data={**data, "part_number": part})
        for part in ("3001", "3002", "3003")
    ]
    services.item_archive(item=items[2], actor=owner, reason="gone")
    hooks = {}
    if connect:
        for provider, secrets in (("bricklink", BRICKLINK_SECRETS), ("brickowl", BRICKOWL_SECRETS)):
            hooks[provider] = f"{name.lower()}-{provider}-push-secret-{'x' * 20}"
            MarketplaceConnection.objects.create(
                account=account,
                provider=provider,
                enabled=False,
                credentials=secrets,
                callback_secret=hooks[provider],
                updated_at=clock.now(),
            )
    order = OrderLineFactory(
        order__account=account, item=items[0], lot_id=f"{name}-lot", part_number="3001"
    ).order
    now = clock.now()
    store_import = StoreImport.objects.create(
        account=account, provider="brickowl", status="done", started_at=now, finished_at=now
    )
    return Tenant(
        account,
        owner,
        member,
        token_for(owner),
        token_for(member),
        items,
        order,
        hooks,
        store_import,
    )


def make_catalog() -> None:
    """A part with colors and a price guide, and the reference lists, all fresh."""
    now = clock.now()
    PartFactory(no="3001", name="Brick 2 x 4", last_fetched=now)
    part_colors("3001", {11: 120, 5: 30}, last_fetched=now)
    price_guides("3001", 11, last_fetched=now)
    Color.objects.create(color_id=11, name="Black", code="212121", type="Solid", last_fetched=now)
    Category.objects.create(category_id=5, name="Brick", parent_id=0, last_fetched=now)


@pytest.fixture
def no_publishing(monkeypatch):
    """Nothing reaches the broker: these tests look at the API, not the workers."""
    from catalog import work as catalog_work
    from inventory import work as inventory_work

    sent: list = []
    monkeypatch.setattr(inventory_work, "publish_sync", lambda *args, **kw: sent.append(args))
    monkeypatch.setattr(inventory_work, "publish_sweep", lambda: None)
    monkeypatch.setattr(catalog_work, "publish_refresh", lambda *args, **kw: sent.append(args))
    monkeypatch.setattr("orders.work.publish_feed", lambda *args, **kw: sent.append(args))
    return sent


@pytest.fixture
def tenants(db, no_publishing):
    """Two accounts with data: ``mine`` (the caller's) and ``theirs``."""
    make_catalog()
    return make_tenant("Mine"), make_tenant("Theirs")


def fill(path: str, ids: dict) -> str:
    """A schema path with its parameters filled: ``ids`` as :meth:`Tenant.ids` gives them
    (or ids that never existed), part 3001."""
    for name in ("item_id", "order_id", "line_id", "import_id"):
        path = path.replace("{" + name + "}", str(ids.get(name, 0)))
    for provider in ("bricklink", "brickowl"):
        if f"/hooks/{provider}/" in path:
            path = path.replace("{secret}", str(ids.get(f"secret:{provider}", "no-such-secret")))
    return path.replace("{no}", "3001").replace("{provider}", "bricklink")
