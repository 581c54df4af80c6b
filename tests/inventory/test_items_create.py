"""Creating inventory items through the API."""

from decimal import Decimal

import pytest

from inventory.models import InventoryHistory, InventoryItem
from tests.factories import (
    AccountFactory,
)
from tests.inventory.item_helpers import (
    DISABLED,
    ITEMS,
    NOW,
    VALID,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


def test_item_create_answers_201_with_every_field(
    owner_client, owner, account, bricklink_on, fake_clock
):
    body = {
        "part_number": "3001",
        "color_id": 11,
        "name": "Brick 2 x 4",
        "condition": "used",
        "quantity_available": 12,
        "quantity_reserved": 1,
        "quantity_sold": 0,
        "status": "available",
        "location": "Bin A3",
        "price": "0.125",
        "notes": "scratched",
    }
    response = owner_client.post(ITEMS, body)
    assert response.status_code == 201, response.content
    item = InventoryItem.objects.get()
    assert response.json() == {
        "id": item.id,
        "part_number": "3001",
        "color_id": 11,
        "name": "Brick 2 x 4",
        "condition": "used",
        "quantity_available": 12,
        "quantity_reserved": 1,
        "quantity_sold": 0,
        "status": "available",
        "location": "Bin A3",
        "price": "0.1250",
        "notes": "scratched",
        "created_at": NOW,
        "updated_at": NOW,
        "sync": {
            "bricklink": {
                "status": "syncing",
                "lot_id": None,
                "last_error": None,
                "synced_at": None,
            },
            "brickowl": DISABLED,
        },
    }
    assert (item.account, item.created_by, item.version) == (account, owner, 1)
    assert item.price == Decimal("0.1250")


def test_item_create_fills_in_defaults(member_client, fake_clock):
    response = member_client.post(ITEMS, VALID)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in body if key not in ("id", "sync")} == {
        "part_number": "3001",
        "color_id": 11,
        "name": "",
        "condition": "new",
        "quantity_available": 0,
        "quantity_reserved": 0,
        "quantity_sold": 0,
        "status": "available",
        "location": "",
        "price": "0.0000",
        "notes": "",
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert body["sync"] == {"bricklink": DISABLED, "brickowl": DISABLED}


def test_item_create_by_a_member_works_and_records_them(member_client, member):
    response = member_client.post(ITEMS, {**VALID, "quantity_available": 4})
    assert response.status_code == 201
    assert InventoryItem.objects.get().created_by == member
    assert InventoryHistory.objects.get().actor == member


@pytest.mark.parametrize(
    ("price", "answered"),
    [
        ("0.1", "0.1000"),
        (0.5, "0.5000"),
        ("12345678.9999", "12345678.9999"),
        (3, "3.0000"),
        ("-0", "0.0000"),
        ("0", "0.0000"),
    ],
)
def test_item_price_is_answered_as_a_string_with_four_places(owner_client, price, answered):
    response = owner_client.post(ITEMS, {**VALID, "price": price})
    assert response.status_code == 201, response.content
    assert response.json()["price"] == answered
    assert owner_client.get(url(response.json()["id"])).json()["price"] == answered


def test_item_create_schedules_a_sync_once_committed(
    owner_client, bricklink_on, django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(ITEMS, VALID)
    assert response.status_code == 201
    assert len(callbacks) == 1
    assert published == [(response.json()["id"], "bricklink")]


def test_item_create_ignores_fields_the_api_owns(owner_client, account, fake_clock):
    other = AccountFactory()
    response = owner_client.post(
        ITEMS,
        {
            **VALID,
            "id": 987654,
            "account": other.id,
            "account_id": other.id,
            "archived": True,
            "version": 40,
            "created_at": "2000-01-01T00:00:00Z",
            "sync": {"bricklink": {"status": "synced", "lot_id": "1"}},
            "created_by": 1,
            "unknown": "x",
        },
    )
    assert response.status_code == 201, response.content
    item = InventoryItem.objects.get()
    assert item.id != 987654
    assert (item.account, item.archived, item.version) == (account, False, 1)
    assert response.json()["created_at"] == NOW
    assert response.json()["sync"]["bricklink"] == DISABLED
