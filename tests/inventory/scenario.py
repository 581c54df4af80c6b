"""Inventory scenarios shared by the integration and fault tests: connect an account to both
sandbox stores, make random changes, and check that the stores hold exactly the items."""

import random
import time
from collections import Counter
from decimal import Decimal

from core import clock
from inventory.lots.bricklink import marked_item_id
from inventory.lots.brickowl import external_item_id
from inventory.models import InventoryItem, MarketplaceConnection, Provider, SyncState
from inventory.services import item_archive, item_create, item_update
from tests.harness import SandboxProcess

BL_KEY = SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]
BO_KEY = SandboxProcess.BRICKOWL_KEY
PARTS = ["3001", "3003", "3004", "3005", "3010", "3020", "3022", "3023", "3024", "3069b"]
COLORS = [1, 5, 11, 86]


def connect(account):
    for provider, credentials in (
        (Provider.BRICKLINK, SandboxProcess.BRICKLINK_CREDENTIALS),
        (Provider.BRICKOWL, {"api_key": BO_KEY}),
    ):
        MarketplaceConnection.objects.create(
            account=account,
            provider=provider,
            enabled=True,
            credentials=credentials,
            updated_at=clock.now(),
        )


def stores(sandbox):
    bricklink = {
        marked_item_id(lot["remarks"]): lot for lot in sandbox.inventory("bricklink", BL_KEY)
    }
    brickowl = {
        external_item_id(lot["external_lot_ids"].get("other")): lot
        for lot in sandbox.inventory("brickowl", BO_KEY)
    }
    return bricklink, brickowl


def settled() -> bool:
    return not SyncState.objects.filter(status__in=["pending", "syncing"]).exists()


class ServiceChanges:
    """Changes made as the services make them (management commands, the admin)."""

    def __init__(self, account, actor) -> None:
        self.account, self.actor = account, actor

    def create(self, data: dict) -> InventoryItem:
        return item_create(account=self.account, actor=self.actor, data=data)

    def update(self, item: InventoryItem, data: dict) -> InventoryItem:
        return item_update(item=item, actor=self.actor, data=data)

    def archive(self, item: InventoryItem) -> None:
        item_archive(item=item, actor=self.actor)


class ApiChanges:
    """Changes made as a seller's frontend makes them: HTTP requests to the API."""

    ITEMS = "/api/v1/inventory/items/"

    def __init__(self, client) -> None:
        self.client = client

    def _send(self, method: str, path: str, expected: int, data: dict | None = None):
        body = {k: str(v) if isinstance(v, Decimal) else v for k, v in (data or {}).items()}
        response = getattr(self.client, method)(path, body, format="json")
        assert response.status_code == expected, (method, path, response.content)
        return response

    def create(self, data: dict) -> InventoryItem:
        created = self._send("post", self.ITEMS, 201, data)
        return InventoryItem.objects.get(pk=created.json()["id"])

    def update(self, item: InventoryItem, data: dict) -> InventoryItem:
        self._send("patch", f"{self.ITEMS}{item.pk}/", 200, data)
        return InventoryItem.objects.get(pk=item.pk)

    def archive(self, item: InventoryItem) -> None:
        self._send("delete", f"{self.ITEMS}{item.pk}/", 204)


def random_changes(
    rng: random.Random,
    account,
    actor,
    count: int,
    max_items: int,
    pause: float = 0.0,
    via: ServiceChanges | ApiChanges | None = None,
) -> None:
    """``count`` random creates, updates and archives over at most ``max_items`` items, made
    through the services (default) or ``via`` the API."""
    changes = via or ServiceChanges(account, actor)
    live: list[InventoryItem] = []
    created = 0
    for _ in range(count):
        time.sleep(pause)  # sellers edit while syncs run: changes meet syncs in flight
        roll = rng.random()
        if created < max_items and (not live or roll < 0.3):
            live.append(
                changes.create(
                    {
                        "part_number": rng.choice(PARTS),
                        "color_id": rng.choice(COLORS),
                        "condition": rng.choice(["new", "used"]),
                        "quantity_available": rng.randint(0, 20),
                        "price": Decimal(rng.randint(1, 2000)) / 1000,
                    },
                )
            )
            created += 1
        elif not live:
            continue
        elif roll < 0.9:
            item = rng.choice(live)
            data = {}
            for field, value in (
                ("quantity_available", rng.randint(0, 25)),
                ("price", Decimal(rng.randint(1, 2000)) / 1000),
                ("notes", rng.choice(["", "Mint", "Scratched"])),
                ("status", rng.choice(["available"] * 4 + ["reserved", "sold"])),
                ("location", rng.choice(["", "A1", "B7"])),
            ):
                if rng.random() < 0.5:
                    data[field] = value
            index = live.index(item)
            live[index] = changes.update(item, data or {"notes": "x"})
        else:
            item = live.pop(rng.randrange(len(live)))
            changes.archive(item)


def duplicate_creates(ledger: list[dict]) -> dict[str, int]:
    """Creates, per store, of a lot for an item that already had a live lot there, read from
    the sandbox's ledger of applied changes: a create applied twice (a lot an order sold out,
    which BrickLink removes, is no longer live). The sync removes such an
    extra lot when it finds one, so the stores alone would never show it; the ledger does."""
    lot_items: dict[tuple[str, object], int] = {}
    live: Counter[tuple[str, int]] = Counter()
    twice: Counter[str] = Counter()
    for entry in ledger:
        provider, fields = entry["provider"], entry["fields"]
        lot = (provider, entry["lot_id"])
        if entry["op"] == "create" and isinstance(fields, dict):
            item = (
                marked_item_id(fields.get("remarks"))
                if provider == Provider.BRICKLINK
                else external_item_id(fields.get("external_id"))
            )
            if item is None:
                continue
            if live[provider, item]:
                twice[provider] += 1
            live[provider, item] += 1
            lot_items[lot] = item
        elif lot in lot_items and (
            entry["op"] == "delete"
            # An order that took a lot's last bricks: BrickLink removed the lot itself.
            or (entry["op"] == "order" and isinstance(fields, dict) and fields.get("removed"))
        ):
            live[provider, lot_items.pop(lot)] -= 1
    return {provider: twice[provider] for provider in Provider.values}


def assert_stores_match_items(
    sandbox, account, providers=(Provider.BRICKLINK, Provider.BRICKOWL)
) -> None:
    """Every listed item has exactly one lot on each store, equal to it; no other lot."""
    items = list(InventoryItem.objects.filter(account=account))
    failed = SyncState.objects.filter(
        item__account=account, status="failed", provider__in=providers
    )
    assert not failed.exists(), list(failed.values("item_id", "provider", "last_error"))
    bricklink, brickowl = stores(sandbox)
    listed = {item.id: item for item in items if item.listed_quantity > 0}
    if Provider.BRICKLINK in providers:
        assert set(bricklink) == set(listed)  # no extra lot, none missing
        assert len(sandbox.inventory("bricklink", BL_KEY)) == len(listed)  # one lot per item
    if Provider.BRICKOWL in providers:
        assert set(brickowl) == set(listed)
        assert len(sandbox.inventory("brickowl", BO_KEY)) == len(listed)
    for item_id, item in listed.items():
        if Provider.BRICKLINK in providers:
            lot = bricklink[item_id]
            assert (lot["item"]["no"], lot["color_id"], lot["quantity"]) == (
                item.part_number,
                item.color_id,
                item.quantity_available,
            ), (item_id, lot)
            assert lot["new_or_used"] == ("N" if item.condition == "new" else "U")
            assert Decimal(lot["unit_price"]) == item.price
            assert lot["description"] == item.notes
        if Provider.BRICKOWL in providers:
            owl = brickowl[item_id]
            assert int(owl["qty"]) == item.quantity_available, (item_id, owl)
            assert Decimal(owl["price"]) == item.price.quantize(Decimal("0.001"))
