import factory
from rest_framework.authtoken.models import Token

from accounts.models import Account, Membership, Role, User

PASSWORD = "correct-horse-battery"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Brick Store {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"seller{n}")
    password = factory.django.Password(PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    role = Role.MEMBER


def token_for(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


# --- catalog -------------------------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from catalog.models import Part, PartColor, PartColorList, PriceGuide  # noqa: E402
from core import clock  # noqa: E402


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    no = factory.Sequence(lambda n: f"90{n:03d}")
    name = factory.Sequence(lambda n: f"Brick 1 x {n}")
    category_id = 5
    weight_g = Decimal("1.25")
    last_fetched = factory.LazyFunction(clock.now)


def part_colors(no: str, colors: dict[int, int], last_fetched=None) -> PartColorList:
    color_list = PartColorList.objects.create(no=no, last_fetched=last_fetched or clock.now())
    for color_id, quantity in colors.items():
        PartColor.objects.create(color_list=color_list, color_id=color_id, quantity=quantity)
    return color_list


def price_guides(no: str, color_id: int, last_fetched=None, avg="0.5000") -> list[PriceGuide]:
    return [
        PriceGuide.objects.create(
            no=no,
            color_id=color_id,
            new_or_used=condition,
            guide_type=guide,
            currency_code="USD",
            min_price=Decimal("0.1"),
            max_price=Decimal("1"),
            avg_price=Decimal(avg),
            qty_avg_price=Decimal("0.45"),
            unit_quantity=10,
            total_quantity=100,
            last_fetched=last_fetched or clock.now(),
        )
        for condition in ("N", "U")
        for guide in ("stock", "sold")
    ]


# --- inventory -----------------------------------------------------------------------------------

from inventory.models import (  # noqa: E402
    BrickOwlPart,
    InventoryHistory,
    InventoryItem,
    MarketplaceConnection,
    SyncState,
)


class InventoryItemFactory(factory.django.DjangoModelFactory):
    """A row as it is stored; to go through the service (history, syncs), call it instead."""

    class Meta:
        model = InventoryItem

    account = factory.SubFactory(AccountFactory)
    part_number = factory.Sequence(lambda n: f"30{n:02d}")
    color_id = 11
    name = factory.LazyAttribute(lambda item: f"Brick {item.part_number}")
    condition = "new"
    quantity_available = 10
    price = Decimal("0.1250")
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyAttribute(lambda item: item.created_at)


class InventoryHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryHistory

    item = factory.SubFactory(InventoryItemFactory)
    account = factory.LazyAttribute(lambda row: row.item.account)
    change_type = "create"
    quantity_available_delta = factory.LazyAttribute(lambda row: row.item.quantity_available)
    to_status = "available"
    version = 1
    created_at = factory.LazyFunction(clock.now)


class MarketplaceConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketplaceConnection

    account = factory.SubFactory(AccountFactory)
    provider = "brickowl"
    enabled = True
    credentials = factory.LazyAttribute(
        lambda c: (
            {"api_key": "owl-key-for-tests"}
            if c.provider == "brickowl"
            else {
                "consumer_key": "ck-for-tests",
                "consumer_secret": "cs-for-tests",
                "token_value": "tv-for-tests",
                "token_secret": "ts-for-tests",
            }
        )
    )
    updated_at = factory.LazyFunction(clock.now)


class SyncStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncState

    item = factory.SubFactory(InventoryItemFactory)
    provider = "bricklink"
    status = "synced"
    lot_id = factory.Sequence(lambda n: str(100000 + n))
    synced_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class BrickOwlPartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrickOwlPart
        django_get_or_create = ["part_number"]

    part_number = factory.Sequence(lambda n: f"40{n:02d}")
    boid = factory.Sequence(lambda n: f"{771000 + n}-{n}")
    looked_up_at = factory.LazyFunction(clock.now)


# --- orders --------------------------------------------------------------------------------------

from orders.models import Order, OrderFeed, OrderLine  # noqa: E402


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    account = factory.SubFactory(AccountFactory)
    provider = "bricklink"
    external_id = factory.Sequence(lambda n: str(5000 + n))
    status = "PAID"
    state = "open"
    buyer_name = "brickfan"
    placed_at = factory.LazyFunction(clock.now)
    status_changed_at = factory.LazyFunction(clock.now)
    created_at = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    lot_id = factory.Sequence(lambda n: str(200000 + n))
    part_number = "3001"
    color_id = 11
    condition = "new"
    quantity = 2
    effect = "applied"


class OrderFeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderFeed

    account = factory.SubFactory(AccountFactory)
    provider = "bricklink"
    since = factory.LazyFunction(clock.now)
    updated_at = factory.LazyFunction(clock.now)
