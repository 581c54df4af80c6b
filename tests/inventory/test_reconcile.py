"""Reconciliation repairing drift made directly in the sandbox stores."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import SyncState
from inventory.reconcile import reconcile_account
from inventory.services import item_archive
from tests.inventory.conftest import BL, BL_KEY, BO, BO_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_publishing")]


@pytest.fixture
def synced(store):
    """Three items listed on both stores."""
    items = [
        store.create(part_number="3001", quantity_available=5),
        store.create(part_number="3003", quantity_available=2),
        store.create(part_number="3004", quantity_available=9),
    ]
    for item in items:
        store.sync(item)
    return store, items


def lots_by_item(store):
    from inventory.lots.bricklink import marked_item_id
    from inventory.lots.brickowl import external_item_id

    bricklink = {marked_item_id(lot["remarks"]): lot for lot in store.bricklink()}
    brickowl = {
        external_item_id(lot["external_lot_ids"].get("other")): lot for lot in store.brickowl()
    }
    return bricklink, brickowl


def drift(store, items):
    """Hand-made drift: a quantity changed, a lot deleted, an orphan and a duplicate added,
    and a lot of the seller's own (no marker) that must never be touched."""
    sandbox = store.sandbox
    bl, bo = lots_by_item(store)
    first, second, third = items
    sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="update",
        lot_id=bl[first.id]["inventory_id"],
        lot={"quantity": 50},
    )
    sandbox.inventory_change(
        provider="bricklink", account=BL_KEY, op="delete", lot_id=bl[second.id]["inventory_id"]
    )
    sandbox.inventory_change(
        provider="brickowl",
        account=BO_KEY,
        op="update",
        lot_id=bo[third.id]["lot_id"],
        lot={"qty": "1"},
    )
    lot = {
        "item": {"no": "3001", "type": "PART"},
        "color_id": 11,
        "quantity": 3,
        "new_or_used": "N",
        "unit_price": "1.0000",
    }
    sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="create",
        lot={**lot, "remarks": "[brickops:999999]"},
    )
    sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="create",
        lot={**lot, "remarks": bl[third.id]["remarks"]},
    )
    sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="create",
        lot={**lot, "remarks": "shelf 4, the seller's own"},
    )


def assert_stores_equal_items(store, items):
    from inventory.models import InventoryItem

    bl_lots = store.bricklink()
    ours = [lot for lot in bl_lots if "[brickops:" in lot["remarks"]]
    bo_lots = store.brickowl()
    live = [
        item
        for item in InventoryItem.objects.filter(id__in=[i.id for i in items])
        if item.listed_quantity > 0
    ]
    bl, bo = lots_by_item(store)
    assert len(ours) == len(live)
    assert len(bo_lots) == len(live)
    for item in live:
        assert bl[item.id]["quantity"] == item.quantity_available
        assert int(bo[item.id]["qty"]) == item.quantity_available


def test_reconcile_repairs_drift_and_reports_each_change(synced):
    store, items = synced
    drift(store, items)
    repairs = reconcile_account(account=store.account, run_syncs=True)
    actions = sorted((r.provider, r.action, r.item_id) for r in repairs)
    first, second, third = (item.id for item in items)
    assert actions == sorted(
        [
            (BL, "resync", first),
            (BL, "resync", second),
            (BL, "delete_orphan", 999999),
            (BL, "delete_duplicate", third),
            (BO, "resync", third),
        ]
    )
    assert_stores_equal_items(store, items)
    seller_own = [lot for lot in store.bricklink() if "seller's own" in lot["remarks"]]
    assert len(seller_own) == 1  # untouched
    # The repaired quantity was computed from the store's truth: 50 -> 5 is a -45 delta.
    deltas = [e["fields"].get("quantity") for e in store.ledger("bricklink") if e["op"] == "update"]
    assert deltas == ["-45"]
    assert reconcile_account(account=store.account, run_syncs=True) == []


def test_reconcile_deletes_lots_of_archived_items(synced):
    store, items = synced
    # The archive's sync never happened (say the worker was down): the lots are orphans.
    item_archive(item=items[0], actor=store.owner)
    repairs = reconcile_account(account=store.account, run_syncs=True)
    assert {(r.provider, r.action) for r in repairs if r.item_id == items[0].id} == {
        (BL, "delete_orphan"),
        (BO, "delete_orphan"),
    }
    bl, bo = lots_by_item(store)
    assert items[0].id not in bl
    assert items[0].id not in bo


def test_reconcile_adopts_a_lot_the_sync_state_lost(synced):
    store, items = synced
    SyncState.objects.filter(item=items[1], provider=BL).update(lot_id="", confirmed=None)
    repairs = reconcile_account(account=store.account, provider=BL, run_syncs=True)
    assert [(r.action, r.item_id) for r in repairs] == [("adopt", items[1].id)]
    bl, _ = lots_by_item(store)
    assert SyncState.objects.get(item=items[1], provider=BL).lot_id == str(
        bl[items[1].id]["inventory_id"]
    )
    assert len(store.bricklink()) == 3  # adopted, not created again


def test_reconcile_dry_run_reports_and_changes_nothing(synced):
    store, items = synced
    drift(store, items)
    before_bl, before_bo = store.bricklink(), store.brickowl()
    repairs = reconcile_account(account=store.account, dry_run=True, run_syncs=True)
    assert len(repairs) == 5
    assert store.bricklink() == before_bl
    assert store.brickowl() == before_bo


def test_reconcile_inventory_command(synced):
    store, items = synced
    drift(store, items)
    out, err = StringIO(), StringIO()
    call_command(
        "reconcile_inventory",
        "--account",
        str(store.account.id),
        "--provider",
        "bricklink",
        "--dry-run",
        stdout=out,
        stderr=err,
    )
    assert "would repair 4 difference(s)" in out.getvalue()
    assert "delete_orphan" in out.getvalue()
    assert "reconciling" in err.getvalue()  # the progress bar
    call_command("reconcile_inventory", "--account", str(store.account.id), stdout=out, stderr=err)
    assert_stores_equal_items(store, items)
    with pytest.raises(CommandError, match="does not exist"):
        call_command("reconcile_inventory", "--account", "999999")
