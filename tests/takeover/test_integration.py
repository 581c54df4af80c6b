"""Taking over real-sized stores: a real worker, the session sandbox over HTTP, prefilled
with a seller's lots (``/_control`` ``prefill``)."""

from __future__ import annotations

from collections import Counter

import pytest

from core import clock
from inventory.models import InventoryItem, MarketplaceConnection, SyncState
from inventory.services import connection_set, item_update
from takeover.models import StoreImport
from tests.factories import AccountFactory, MembershipFactory
from tests.harness import SandboxProcess, wait_for
from tests.inventory.scenario import settled

pytestmark = pytest.mark.worker

BL, BO = "bricklink", "brickowl"
BL_KEY = SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"]
# The seller's own BrickOwl key: catalog look-ups go with the platform's key, not this one.
OWL_KEY = "takeover-seller-owl-key"


@pytest.fixture
def seller(worker, sandbox, client_for):
    account = AccountFactory()
    owner = MembershipFactory(account=account, role="owner").user
    for provider, credentials in (
        (BL, SandboxProcess.BRICKLINK_CREDENTIALS),
        (BO, {"api_key": OWL_KEY}),
    ):  # configured, not on yet: a takeover comes first
        MarketplaceConnection.objects.create(
            account=account,
            provider=provider,
            enabled=False,
            credentials=credentials,
            updated_at=clock.now(),
        )
    account.client = client_for(owner)
    account.owner = owner
    return account


def take_over(account, provider) -> StoreImport:
    response = account.client.post(
        f"/api/v1/marketplaces/{provider}/import/", {"dry_run": False}, format="json"
    )
    assert response.status_code == 202, response.content
    import_id = response.json()["import_id"]

    def finished():
        body = account.client.get(f"/api/v1/imports/{import_id}/").json()
        return body["status"] != "running"

    wait_for(finished, timeout=120, message=f"the {provider} takeover")
    return StoreImport.objects.get(pk=import_id)


def quantities(sandbox, provider, key) -> dict[str, int]:
    lots = sandbox.inventory(provider, key)
    if provider == BL:
        return {str(lot["inventory_id"]): lot["quantity"] for lot in lots}
    return {lot["lot_id"]: int(lot["qty"]) for lot in lots}


def linked_lots(account, provider) -> Counter:
    return Counter(
        SyncState.objects.filter(item__account=account, provider=provider)
        .exclude(lot_id="")
        .values_list("lot_id", flat=True)
    )


@pytest.mark.exact_sandbox("counts the seller's calls on each store")
def test_taking_over_two_stores_that_share_lots(seller, sandbox):
    sandbox.control(
        brickowl_keys=[OWL_KEY],
        prefill=[
            {"provider": BL, "account": BL_KEY, "lots": 2000, "seed": 7},
            {
                "provider": BO,
                "account": OWL_KEY,
                "lots": 1500,
                "seed": 8,
                "share_with": {"provider": BL, "account": BL_KEY},
                "shared": 1200,
            },
        ],
    )
    before = {BL: quantities(sandbox, BL, BL_KEY), BO: quantities(sandbox, BO, OWL_KEY)}

    bricklink = take_over(seller, BL)
    assert (bricklink.status, bricklink.lots_seen, bricklink.unmapped) == ("done", 2000, [])
    assert (bricklink.items_created, bricklink.items_linked) == (2000, 0)
    assert linked_lots(seller, BL) == Counter(list(before[BL]))  # each lot: exactly one item

    brickowl = take_over(seller, BO)
    assert (brickowl.status, brickowl.lots_seen) == ("done", 1500)
    assert brickowl.items_linked == 1200  # the shared lots found their BrickLink items
    assert brickowl.items_created + len(brickowl.unmapped) == 300
    assert all("no known BrickLink number" in lot["reason"] for lot in brickowl.unmapped)
    unmapped = {lot["lot_id"] for lot in brickowl.unmapped}
    assert linked_lots(seller, BO) == Counter(list(set(before[BO]) - unmapped))
    assert InventoryItem.objects.filter(account=seller).count() == 2000 + brickowl.items_created

    # Nothing was created or changed on either store; each was read with one call.
    assert sandbox.ledger() == []
    assert {BL: quantities(sandbox, BL, BL_KEY), BO: quantities(sandbox, BO, OWL_KEY)} == before
    calls = sandbox.calls()["by_account"]
    assert calls.get(BL_KEY, 0) <= 3
    assert calls.get(OWL_KEY, 0) <= 3

    # An adopted BrickLink lot follows its item by the right delta.
    # (Turned on without the full resync a switch-on asks for: test_turning_... covers that.)
    MarketplaceConnection.objects.filter(account=seller, provider=BL).update(enabled=True)
    state = SyncState.objects.filter(item__account=seller, provider=BL).first()
    item = state.item
    lot_before = before[BL][state.lot_id]
    item_update(
        item=item, actor=seller.owner, data={"quantity_available": item.quantity_available + 3}
    )
    wait_for(settled, timeout=30, message="the update to reach BrickLink")
    [put] = sandbox.ledger()
    assert (put["op"], str(put["lot_id"]), put["fields"]["quantity"]) == (
        "update",
        state.lot_id,
        "+3",
    )
    assert quantities(sandbox, BL, BL_KEY)[state.lot_id] == lot_before + 3


def test_turning_brickowl_on_after_a_bricklink_takeover_creates_exactly_the_missing_lots(
    seller, sandbox
):
    sandbox.control(
        brickowl_keys=[OWL_KEY],
        prefill=[{"provider": BL, "account": BL_KEY, "lots": 120, "seed": 3}],
    )
    assert take_over(seller, BL).items_created == 120
    connection_set(account=seller, provider=BO, enabled=True, credentials=None)
    wait_for(settled, timeout=30, message="the items to reach BrickOwl")
    states = SyncState.objects.filter(item__account=seller, provider=BO)
    listed = states.filter(status="synced").exclude(lot_id="").count()
    unmappable = states.filter(status="failed", last_error__code="unmappable").count()
    assert listed + unmappable == 120
    creates = [e for e in sandbox.ledger() if e["provider"] == BO and e["op"] == "create"]
    assert len(creates) == listed
    assert len(sandbox.inventory(BO, OWL_KEY)) == listed
    # BrickLink: the adopted lots were already the items -- not one change there.
    assert not [e for e in sandbox.ledger() if e["provider"] == BL]
