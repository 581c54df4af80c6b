"""The sync engine in this process, against the sandbox over HTTP (no worker)."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from core import clock
from inventory.models import MarketplaceConnection, SyncState, SyncStatus
from inventory.services import item_archive, item_sync_now, item_update
from inventory.sync import sync_run
from inventory.work import sync_sweep
from ratelimit.models import ConcurrencySlot
from tests.inventory.conftest import BL, BL_KEY, BO
from tests.policies import set_policy

pytestmark = pytest.mark.usefixtures("no_publishing")


def test_create_lists_the_item_on_both_marketplaces(store):
    item = store.create(notes="Like new", location="A-12")
    assert store.state(item, BL).status == SyncStatus.SYNCING
    assert store.sync(item) == {BL: "synced", BO: "synced"}
    [bl] = store.bricklink()
    assert (bl["item"]["no"], bl["color_id"], bl["quantity"], bl["new_or_used"]) == (
        "3001",
        11,
        5,
        "N",
    )
    assert bl["unit_price"] == "0.1250"
    assert bl["description"] == "Like new"
    assert bl["remarks"] == f"A-12 [brickops:{item.id}]"
    [bo] = store.brickowl()
    assert (bo["qty"], bo["con"], bo["price"]) == ("5", "new", "0.125")
    assert bo["external_lot_ids"]["other"] == f"brickops-{item.id}"
    assert (bo["public_note"], bo["personal_note"]) == ("Like new", "A-12")
    state = store.state(item, BL)
    assert (state.status, state.lot_id, state.synced_version) == (
        "synced",
        str(bl["inventory_id"]),
        1,
    )
    assert state.synced_at is not None
    assert store.state(item, BO).lot_id == bo["lot_id"]


def test_update_sends_a_bricklink_delta_and_a_brickowl_absolute_quantity(store):
    item = store.create()
    store.sync(item)
    item = item_update(item=item, actor=store.owner, data={"quantity_available": 8})
    store.sync(item)
    put = store.ledger("bricklink")[-1]
    assert put["op"] == "update"
    assert put["fields"]["quantity"] == "+3"
    assert "description" in put["fields"]
    assert (put["quantity_before"], put["quantity_after"]) == (5, 8)
    assert store.brickowl()[0]["qty"] == "8"
    assert store.ledger("brickowl")[-1]["fields"]["absolute_quantity"] == "8"
    # A price-only change sends no quantity at all.
    item = item_update(item=item, actor=store.owner, data={"price": Decimal("0.2")})
    store.sync(item)
    put = store.ledger("bricklink")[-1]
    assert "quantity" not in put["fields"]
    assert put["fields"]["unit_price"] == "0.2000"
    assert store.bricklink()[0]["quantity"] == 8
    assert store.brickowl()[0]["price"] == "0.200"


def test_a_synced_item_syncs_again_for_free(store):
    item = store.create()
    store.sync(item)
    calls = store.sandbox.calls()["total"]
    assert store.sync(item) == {BL: "not_due", BO: "not_due"}  # a duplicate delivery
    item_sync_now(item=item)  # asked again: it checks, finds nothing to change
    assert store.sync(item) == {BL: "synced", BO: "synced"}
    assert store.sandbox.calls()["total"] == calls  # confirmed and unchanged: not one call
    assert len(store.ledger("bricklink")) == 1


def test_archive_removes_the_lots(store):
    item = store.create()
    store.sync(item)
    item_archive(item=item, actor=store.owner)
    assert store.sync(item) == {BL: "synced", BO: "synced"}
    assert store.bricklink() == []
    assert store.brickowl() == []
    assert store.state(item, BL).lot_id == ""


def test_not_for_sale_removes_the_lot_and_back_on_sale_lists_it_again(store):
    item = store.create()
    store.sync(item)
    item = item_update(item=item, actor=store.owner, data={"status": "reserved"})
    store.sync(item)
    assert store.bricklink() == []
    assert store.brickowl() == []
    item = item_update(item=item, actor=store.owner, data={"status": "available"})
    store.sync(item)
    assert store.bricklink()[0]["quantity"] == 5
    assert store.brickowl()[0]["qty"] == "5"


def test_changing_the_color_replaces_the_lot(store):
    item = store.create()
    store.sync(item)
    old = store.bricklink()[0]["inventory_id"]
    item = item_update(item=item, actor=store.owner, data={"color_id": 5})
    store.sync(item)
    [lot] = store.bricklink()
    assert (lot["color_id"], lot["quantity"]) == (5, 5)
    assert lot["inventory_id"] != old
    assert len(store.brickowl()) == 1


def test_two_syncs_of_one_item_never_run_at_once(store, transactional_db):
    item = store.create()
    store.sandbox.control(latency={"fixed_ms": 300, "random_ms": 0})
    outcomes = []

    def run():
        try:
            outcomes.append(sync_run(item_id=item.id, provider=BL).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy", "busy", "busy", "synced"]
    assert len(store.bricklink()) == 1


def test_bricklink_create_applied_then_timed_out_makes_one_lot(store, settings):
    settings.MARKETPLACE_READ_TIMEOUT = 1
    item = store.create(quantity_available=7)
    store.sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "POST",
                "apply_then_timeout": 1,
                "hang_seconds": 2,
                "times": 1,
            }
        ]
    )
    assert store.sync(item, BL) == {BL: "retrying"}
    state = store.state(item, BL)
    assert state.in_doubt
    assert state.lot_id == ""
    assert len(store.bricklink()) == 1  # it landed
    store.make_due(item)
    assert store.sync(item, BL) == {BL: "synced"}  # found by our marker, not created again
    [lot] = store.bricklink()
    assert lot["quantity"] == 7
    assert store.state(item, BL).lot_id == str(lot["inventory_id"])
    assert [e["op"] for e in store.ledger("bricklink")] == ["create"]


def test_bricklink_put_applied_then_timed_out_is_not_replayed(store, settings):
    settings.MARKETPLACE_READ_TIMEOUT = 1
    item = store.create(quantity_available=5)
    store.sync(item, BL)
    item = item_update(item=item, actor=store.owner, data={"quantity_available": 9})
    store.sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "PUT",
                "apply_then_timeout": 1,
                "hang_seconds": 2,
                "times": 1,
            }
        ]
    )
    assert store.sync(item, BL) == {BL: "retrying"}
    assert store.bricklink()[0]["quantity"] == 9  # the +4 landed unseen
    store.make_due(item)
    assert store.sync(item, BL) == {BL: "synced"}
    assert store.bricklink()[0]["quantity"] == 9  # re-read, not +4 again (13)
    assert [e["op"] for e in store.ledger("bricklink")] == ["create", "update"]


def test_brickowl_create_applied_then_timed_out_makes_one_lot(store, settings):
    settings.MARKETPLACE_READ_TIMEOUT = 1
    item = store.create(quantity_available=3)
    store.sandbox.control(
        faults=[
            {
                "provider": "brickowl",
                "path": "create",
                "apply_then_timeout": 1,
                "hang_seconds": 2,
                "times": 1,
            }
        ]
    )
    assert store.sync(item, BO) == {BO: "retrying"}
    store.make_due(item)
    assert store.sync(item, BO) == {BO: "synced"}
    [lot] = store.brickowl()
    assert lot["qty"] == "3"


def test_a_lot_created_twice_is_cleaned_up(store):
    item = store.create()
    store.sync(item)
    # Two lots carry our marker (say, an old double create): keep one, delete the other.
    lot = store.bricklink()[0]
    store.sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="create",
        lot={
            "item": {"no": "3001", "type": "PART"},
            "color_id": 11,
            "quantity": 5,
            "new_or_used": "N",
            "unit_price": "0.1250",
            "remarks": lot["remarks"],
        },
    )
    SyncState.objects.filter(item=item, provider=BL).update(in_doubt=True, lot_id="")
    item_sync_now(item=item)
    store.sync(item, BL)
    assert len(store.bricklink()) == 1


def test_unmappable_part_fails_on_brickowl_with_a_clear_reason(store, sandbox_catalog):
    item = store.create(part_number=sandbox_catalog.part_without_boid())
    assert store.sync(item) == {BL: "synced", BO: "failed"}
    error = store.state(item, BO).last_error
    assert error["code"] == "unmappable"
    assert "BrickOwl has no part" in error["message"]


def test_unmappable_color_fails_on_brickowl(store, sandbox_catalog):
    item = store.create(color_id=sandbox_catalog.color_without_brickowl())
    assert store.sync(item, BO) == {BO: "failed"}
    assert "no color" in store.state(item, BO).last_error["message"]


def test_a_refused_create_fails_at_once_with_the_marketplace_message(store):
    item = store.create(part_number="nonexistent-part")
    assert store.sync(item, BL) == {BL: "failed"}
    state = store.state(item, BL)
    assert state.attempts == 0
    assert state.last_error["code"] == "bad_request"
    assert state.last_error["message"]
    assert not state.in_doubt


def test_transient_errors_retry_with_backoff_then_fail_and_sync_now_starts_over(store, settings):
    set_policy(settings, "inventory_sync", max_attempts=3)
    item = store.create()
    store.sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    delays = []
    for attempt in (1, 2):
        assert store.sync(item, BL) == {BL: "retrying"}
        state = store.state(item, BL)
        assert (state.status, state.attempts) == ("syncing", attempt)
        delays.append((state.next_attempt_at - clock.now()).total_seconds())
        store.make_due(item)
    assert store.sync(item, BL) == {BL: "failed"}
    state = store.state(item, BL)
    assert (state.status, state.attempts, state.last_error["code"]) == ("failed", 3, "transient")
    assert 0.9 < delays[0] <= 1.0
    assert 1.9 < delays[1] <= 2.0
    store.sandbox.control(faults=[])
    item_sync_now(item=item)
    state = store.state(item, BL)
    assert (state.status, state.attempts) == ("syncing", 0)
    assert store.sync(item, BL) == {BL: "synced"}
    assert store.state(item, BL).last_error is None


def test_a_rate_limit_denial_waits_and_is_not_a_failure(store, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:account": {"rules": [{"kind": "fixed_window", "rate": 1, "period": 86400}]},
    }
    first, second = store.create(), store.create(part_number="3003")
    assert store.sync(first, BL) == {BL: "synced"}
    assert store.sync(second, BL) == {BL: "deferred"}
    state = store.state(second, BL)
    assert (state.status, state.attempts, state.last_error) == ("syncing", 0, None)
    assert state.next_attempt_at > clock.now() + timedelta(hours=1)


def test_a_marketplace_429_stops_the_whole_account_until_its_time(store, fake_clock):
    first, second = store.create(), store.create(part_number="3003")
    store.sandbox.control(faults=[{"provider": "bricklink", "http_429": 1, "times": 1}])
    assert store.sync(first, BL) == {BL: "deferred"}
    calls = store.sandbox.calls()["total"]
    assert store.sync(second, BL) == {BL: "deferred"}  # never called
    assert store.sandbox.calls()["total"] == calls
    fake_clock.advance(seconds=4)
    store.make_due(first)
    store.make_due(second)
    assert store.sync(first, BL) == {BL: "synced"}
    assert store.sync(second, BL) == {BL: "synced"}


def test_no_more_than_four_bricklink_calls_in_flight(store, fake_clock):
    for seat in range(4):
        ConcurrencySlot.objects.update_or_create(
            name="bricklink:in-flight",
            key=str(store.account.id),
            slot=seat,
            defaults={
                "holder": f"00000000-0000-0000-0000-00000000000{seat}",
                "lease_until": fake_clock() + timedelta(seconds=60),
            },
        )
    item = store.create()
    assert store.sync(item, BL) == {BL: "deferred"}
    assert store.bricklink() == []
    fake_clock.advance(seconds=61)  # the holders' leases run out
    store.make_due(item)
    assert store.sync(item, BL) == {BL: "synced"}


def test_disable_external_calls_marks_synced_without_calling(store, settings, caplog):
    settings.DISABLE_EXTERNAL_CALLS = True
    item = store.create()
    assert store.sync(item) == {BL: "synced", BO: "synced"}
    assert store.sandbox.calls()["total"] == 0
    assert "DISABLE_EXTERNAL_CALLS" in caplog.text


def test_a_disabled_connection_is_not_synced(store):
    MarketplaceConnection.objects.filter(provider=BO).update(enabled=False)
    item = store.create()
    assert store.state(item, BO).status == SyncStatus.DISABLED
    assert store.sync(item, BO) == {BO: "not_due"}
    assert store.brickowl() == []


def test_sweeper_takes_back_a_dead_run_and_sends_due_syncs(store, fake_clock, no_publishing):
    from inventory.sync import claim_sync

    item = store.create()
    state = store.state(item, BL)
    assert claim_sync(state.pk) is not None  # a worker takes it and dies
    fake_clock.advance(seconds=200)
    no_publishing.clear()
    reclaimed, _ = sync_sweep()
    assert reclaimed == 1
    assert (item.id, BL) in no_publishing
    assert store.sync(item, BL) == {BL: "synced"}


def test_a_change_landing_as_a_sync_finishes_is_not_lost(store, monkeypatch):
    """The change commits between the sync's last look at the item and its "synced"."""
    from inventory import sync

    item = store.create(quantity_available=5)
    real_done = sync._done
    landed = []

    def done_after_a_change(claim, version):
        if not landed:
            landed.append(
                item_update(item=item, actor=store.owner, data={"quantity_available": 12})
            )
        return real_done(claim, version)

    monkeypatch.setattr(sync, "_done", done_after_a_change)
    assert store.sync(item, BL) == {BL: "synced"}
    state = store.state(item, BL)
    assert state.synced_version == 2
    assert store.bricklink()[0]["quantity"] == 12
