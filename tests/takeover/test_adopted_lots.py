"""Lots taken over from a seller's store keep working with the sync: the engine in this
process, against the sandbox over HTTP (no worker)."""

from decimal import Decimal

import pytest

from inventory.lots.bricklink import is_ours
from inventory.models import InventoryItem, SyncState
from inventory.services import item_sync_now, item_update
from marketplaces.bricklink.inventory import parse_lot
from tests.inventory.conftest import BL, BO
from tests.takeover.helpers import seller_bricklink_lot, seller_brickowl_lot, take_over

pytestmark = pytest.mark.usefixtures("no_publishing")


def test_an_adopted_bricklink_lot_costs_no_put_and_an_update_sends_the_delta(store):
    lot = seller_bricklink_lot(store.sandbox, quantity=7)
    done = take_over(store.account, BL)
    assert (done.status, done.items_created, done.items_linked) == ("done", 1, 0)
    item = InventoryItem.objects.get(account=store.account)
    assert (item.quantity_available, item.location, item.notes) == (7, "Bin A1", "Like new")
    state = store.state(item, BL)
    assert (state.status, state.lot_id) == ("synced", str(lot["inventory_id"]))
    assert not state.in_doubt
    assert state.synced_version == item.version
    calls = store.sandbox.calls()["total"]
    item_sync_now(item=item)  # asked again: the adopted lot is the item already
    assert store.sync(item, BL) == {BL: "synced"}
    assert store.sandbox.calls()["total"] == calls
    item = item_update(item=item, actor=store.owner, data={"quantity_available": 10})
    assert store.sync(item, BL) == {BL: "synced"}
    [put] = store.ledger("bricklink")
    assert (put["op"], put["fields"]["quantity"]) == ("update", "+3")
    assert "remarks" not in put["fields"]  # no marker added to the seller's lot
    [now] = store.bricklink()
    assert (now["inventory_id"], now["quantity"], now["remarks"]) == (
        lot["inventory_id"],
        10,
        "Bin A1",
    )


def test_a_location_change_of_an_adopted_lot_keeps_it_unmarked(store):
    seller_bricklink_lot(store.sandbox)
    take_over(store.account, BL)
    item = InventoryItem.objects.get(account=store.account)
    item = item_update(item=item, actor=store.owner, data={"location": "Shelf 3"})
    assert store.sync(item, BL) == {BL: "synced"}  # the PUT's answer is accepted as ours
    [lot] = store.bricklink()
    assert lot["remarks"] == "Shelf 3"
    assert not store.state(item, BL).in_doubt


def bl_lot(remarks, no="3001", color=11, condition="N"):
    return parse_lot(
        {
            "inventory_id": 5,
            "item": {"no": no, "type": "PART"},
            "color_id": color,
            "quantity": 1,
            "new_or_used": condition,
            "unit_price": "0.1",
            "remarks": remarks,
        }
    )


def test_a_put_answer_is_ours_when_marked_for_the_item_or_an_unmarked_adopted_lot():
    item = InventoryItem(id=42, part_number="3001", color_id=11, condition="new")
    adopted = {"remarks": "Bin A1"}
    marked = {"remarks": "Bin A1 [brickops:42]"}
    assert is_ours(bl_lot("A [brickops:42]"), item, marked)
    assert not is_ours(bl_lot("A [brickops:43]"), item, marked)  # another item's lot
    assert not is_ours(bl_lot("A [brickops:43]"), item, adopted)
    assert is_ours(bl_lot("Bin A1"), item, adopted)
    assert not is_ours(bl_lot("Bin A1"), item, marked)  # ours lost its marker: look again
    assert not is_ours(bl_lot("Bin A1", color=5), item, adopted)  # another lot altogether


def test_an_adopted_brickowl_lot_in_doubt_is_found_by_its_lot_id_not_created_again(
    store, sandbox_catalog
):
    boid = sandbox_catalog.item("PART", "3001").boid
    owl_color = sandbox_catalog.colors[11].brickowl_id
    lot = seller_brickowl_lot(store.sandbox, boid, owl_color, condition="usedg", quantity=4)
    item = store.create(condition="used", quantity_available=9, price=Decimal("0.15"))
    done = take_over(store.account, BO)
    assert (done.items_linked, done.items_created, done.unmapped) == (1, 0, [])
    state = store.state(item, BO)
    assert state.lot_id == lot["lot_id"]
    assert state.confirmed["condition"] == "usedg"
    # A change whose answer was lost: the next run looks the lot up before acting.
    SyncState.objects.filter(pk=state.pk).update(in_doubt=True)
    item = item_update(item=item, actor=store.owner, data={"quantity_available": 6})
    assert store.sync(item, BO) == {BO: "synced"}
    [now] = store.brickowl()
    assert (now["lot_id"], now["qty"], now["full_con"]) == (lot["lot_id"], "6", "usedg")
    ops = [entry["op"] for entry in store.ledger("brickowl")]
    assert ops == ["update"]  # found by its lot id: not created again, not replaced
