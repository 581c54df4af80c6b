"""Fixtures shared by the inventory tests."""

from decimal import Decimal

import pytest
from django.test.client import Client

from core import clock
from inventory.models import MarketplaceConnection, Provider, SyncState
from inventory.services import item_create
from inventory.sync import sync_run
from tests.factories import AccountFactory, MarketplaceConnectionFactory, MembershipFactory
from tests.harness import SandboxProcess
from tests.policies import set_policy

# The helper modules' asserts are the tests' own: let pytest explain them when they fail.
pytest.register_assert_rewrite("tests.inventory.connection_helpers", "tests.inventory.item_helpers")

from tests.inventory.connection_helpers import assert_no_secret  # noqa: E402
from tests.inventory.item_helpers import make_item  # noqa: E402

BL = Provider.BRICKLINK
BO = Provider.BRICKOWL
BL_KEY = SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]
BO_KEY = SandboxProcess.BRICKOWL_KEY


@pytest.fixture
def no_publishing(monkeypatch):
    """These tests run syncs themselves."""
    from inventory import work as inventory_work

    sent = []
    monkeypatch.setattr(inventory_work, "publish_sync", lambda *args, **kw: sent.append(args))
    monkeypatch.setattr(inventory_work, "publish_sweep", lambda: None)
    return sent


@pytest.fixture
def store(bricklink_sandbox, db, settings):
    """An account connected to both sandbox stores, and how to look at them."""
    set_policy(settings, "inventory_sync", retry_jitter_seconds=0)
    account = AccountFactory()
    owner = MembershipFactory(account=account, role="owner").user
    MarketplaceConnection.objects.create(
        account=account,
        provider=BL,
        enabled=True,
        updated_at=clock.now(),
        credentials=SandboxProcess.BRICKLINK_CREDENTIALS,
    )
    MarketplaceConnection.objects.create(
        account=account,
        provider=BO,
        enabled=True,
        updated_at=clock.now(),
        credentials={"api_key": BO_KEY},
    )

    class Store:
        sandbox = bricklink_sandbox

        def __init__(self):
            self.account, self.owner = account, owner

        def create(self, **data):
            fields = {
                "part_number": "3001",
                "color_id": 11,
                "condition": "new",
                "quantity_available": 5,
                "price": Decimal("0.1250"),
                **data,
            }
            return item_create(account=account, actor=owner, data=fields)

        def bricklink(self):
            return bricklink_sandbox.inventory("bricklink", BL_KEY)

        def brickowl(self):
            return bricklink_sandbox.inventory("brickowl", BO_KEY)

        def ledger(self, provider):
            return [e for e in bricklink_sandbox.ledger() if e["provider"] == provider]

        def state(self, item, provider):
            return SyncState.objects.get(item=item, provider=provider)

        def sync(self, item, provider=None):
            return {
                p: sync_run(item_id=item.id, provider=p).outcome
                for p in ([provider] if provider else [BL, BO])
            }

        def make_due(self, item):
            SyncState.objects.filter(item=item).update(next_attempt_at=clock.now())

    return Store()


# --- the API tests: the item API (test_items_*.py) and marketplace connections -------------------


@pytest.fixture
def published(monkeypatch):
    """What the services would send to the workers once their transaction commits (these
    tests never reach the broker)."""
    calls = []
    monkeypatch.setattr(
        "inventory.work.publish_sync",
        lambda item_id, provider, countdown=None: calls.append((item_id, provider)),
    )
    monkeypatch.setattr("inventory.work.publish_sweep", lambda: calls.append("sweep"))
    return calls


@pytest.fixture
def bricklink_on(account):
    return MarketplaceConnectionFactory(account=account, provider="bricklink")


@pytest.fixture
def item(account, owner, fake_clock):
    return make_item(account, owner, quantity_available=10, price=Decimal("0.5"))


@pytest.fixture
def other_item():
    """An item of another account."""
    return make_item(AccountFactory(), None, quantity_available=3)


@pytest.fixture
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
