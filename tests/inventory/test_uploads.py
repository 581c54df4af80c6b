"""Uploads (inventory/uploads.py) in this process, against the sandbox over HTTP: many items
without a lot go in batches -- BrickLink's array POST, BrickOwl's bulk/batch -- and every
sync ends as a single run's would."""

from decimal import Decimal

import pytest

from core import clock
from inventory.models import InventoryItem, SyncState, SyncStatus
from inventory.scheduling import sync_batch
from inventory.selectors import sync_progress
from inventory.services import item_update
from inventory.uploads import upload_run, uploads_send
from inventory.work import SYNCS
from outbox.claims import claim_batch
from tests.inventory.conftest import BL, BO
from tests.inventory.scenario import assert_stores_match_items, duplicate_creates

pytestmark = pytest.mark.usefixtures("no_publishing")


@pytest.fixture
def uploads_sent(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "inventory.uploads.publish_upload",
        lambda account_id, provider, countdown=None: sent.append((account_id, provider, countdown)),
    )
    return sent


def many(store, sandbox_catalog, count: int) -> list[InventoryItem]:
    """``count`` items of parts BrickOwl knows, in one batch of changes (one sweep)."""
    parts = [p for p in sandbox_catalog.parts() if p.boid and p.colors][:40]
    items = []
    with sync_batch():
        for index in range(count):
            part = parts[index % len(parts)]
            color, _ = part.colors[(index // len(parts)) % len(part.colors)]
            items.append(
                store.create(
                    part_number=part.no,
                    color_id=color,
                    condition="new" if index % 2 else "used",
                    quantity_available=1 + index % 7,
                    price=Decimal("0.05") * (1 + index % 5),
                    location=f"B-{index}",
                )
            )
    return items


def test_the_sweep_sends_a_group_of_new_lots_as_one_upload(
    store, sandbox_catalog, uploads_sent, settings
):
    settings.INVENTORY_UPLOAD_MIN = 20
    many(store, sandbox_catalog, 30)
    SyncState.objects.update(dispatched_at=None)  # as a big change leaves them: sent by a sweep
    taken = uploads_send(clock.now())
    assert taken == 60
    assert sorted(p for _, p, _ in uploads_sent) == [BL, BO]
    # Sent: the sweep's one-by-one pass does not send them again.
    assert not SyncState.objects.filter(dispatched_at__isnull=True).exists()


def test_fewer_than_the_minimum_go_one_by_one(store, sandbox_catalog, uploads_sent, settings):
    settings.INVENTORY_UPLOAD_MIN = 20
    many(store, sandbox_catalog, 12)
    SyncState.objects.update(dispatched_at=None)
    assert uploads_send(clock.now()) == 0
    assert uploads_sent == []


def test_an_upload_creates_every_lot_in_a_few_calls(store, sandbox_catalog, uploads_sent, settings):
    settings.INVENTORY_BRICKLINK_BATCH_SIZE = 50
    settings.INVENTORY_BRICKOWL_BATCHES_PER_CHUNK = 1
    items = many(store, sandbox_catalog, 120)
    bricklink = upload_run(store.account.id, BL)
    brickowl = upload_run(store.account.id, BO)
    assert (bricklink.synced, brickowl.synced) == (120, 120)
    states = SyncState.objects.filter(item__in=items)
    assert states.filter(status=SyncStatus.SYNCED).exclude(lot_id="").count() == 240
    assert not states.filter(in_doubt=True).exists()
    assert all(s.synced_version == s.item.version for s in states.select_related("item"))
    assert_stores_match_items(store.sandbox, store.account)
    # BrickLink: three arrays of at most 50 and a listing after each.
    sent = store.sandbox.calls()
    endpoints = sent["by_endpoint"]
    assert endpoints["POST /bricklink/inventories"] == 3
    assert endpoints["GET /bricklink/inventories"] == 3
    assert bricklink.calls == 6
    # BrickOwl: 3 batches of creates, 1 of BOID look-ups (40 parts), the color list.
    assert endpoints["POST /brickowl/bulk/batch"] == 4
    assert sent["batched"]["POST /brickowl/inventory/create"] == 120
    assert sent["batched"]["GET /brickowl/catalog/id_lookup"] == 40
    assert "POST /brickowl/inventory/create" not in endpoints
    assert sent["total"] == 3 + 3 + 4 + 1
    assert sync_progress(store.account.id) == {BL: {"synced": 120}, BO: {"synced": 120}}
    assert uploads_sent == []


def test_an_item_changed_during_the_upload_is_left_to_its_single_sync(
    store, sandbox_catalog, no_publishing, monkeypatch, django_capture_on_commit_callbacks
):
    items = many(store, sandbox_catalog, 25)
    changed = items[3]
    from inventory.lots import bricklink

    create_many = bricklink.BrickLinkClient.inventory_create_many

    def meanwhile(client, lots):
        create_many(client, lots)
        item_update(item=changed, actor=store.owner, data={"quantity_available": 99})

    monkeypatch.setattr(bricklink.BrickLinkClient, "inventory_create_many", meanwhile)
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_run(store.account.id, BL).synced == 24
    state = store.state(changed, BL)
    # It keeps the lot (made from the version before) and goes to a single sync, which
    # converges it with one PUT.
    assert (state.status, state.claim_token, bool(state.lot_id)) == ("syncing", None, True)
    assert (changed.id, BL) in no_publishing
    assert store.sync(changed, BL) == {BL: "synced"}
    assert store.ledger(BL)[-1]["fields"]["quantity"].startswith("+")
    assert_stores_match_items(store.sandbox, store.account, providers=[BL])


def test_a_batch_that_times_out_after_bricklink_applied_it_makes_no_duplicate(
    store, sandbox_catalog, uploads_sent
):
    items = many(store, sandbox_catalog, 30)
    store.sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "POST",
                "path": "^/inventories",
                "apply_then_timeout": 1.0,
                "times": 1,
                "hang_seconds": 2.5,
            }
        ]
    )
    first = upload_run(store.account.id, BL)
    assert first.synced == 0
    states = SyncState.objects.filter(item__in=items, provider=BL)
    # Applied, never answered: every sync is in doubt, retrying -- none created again.
    assert states.filter(in_doubt=True, status=SyncStatus.SYNCING, attempts=1).count() == 30
    assert len(store.bricklink()) == 30
    states.update(next_attempt_at=clock.now())
    second = upload_run(store.account.id, BL)
    # Found by their markers with one listing: nothing sent again.
    assert second.synced == 30
    assert store.sandbox.calls()["by_endpoint"]["POST /bricklink/inventories"] == 1
    assert len(store.bricklink()) == 30
    assert duplicate_creates(store.sandbox.ledger())[BL] == 0
    assert_stores_match_items(store.sandbox, store.account, providers=[BL])


def test_a_brickowl_batch_that_times_out_after_it_applied_makes_no_duplicate(
    store, sandbox_catalog, uploads_sent
):
    items = many(store, sandbox_catalog, 30)
    upload_run(store.account.id, BO)  # looks up the BOIDs, creates the lots
    assert len(store.brickowl()) == 30
    # The same once more, with the create batch applied and never answered.
    more = many(store, sandbox_catalog, 30)
    store.sandbox.control(
        faults=[
            {
                "provider": "brickowl",
                "path": "^/bulk/batch",
                "apply_then_timeout": 1.0,
                "times": 1,
                "hang_seconds": 2.5,
            }
        ]
    )
    assert upload_run(store.account.id, BO).synced == 0
    states = SyncState.objects.filter(item__in=more, provider=BO)
    assert states.filter(in_doubt=True).count() == 30
    states.update(next_attempt_at=clock.now())
    assert upload_run(store.account.id, BO).synced == 30
    assert len(store.brickowl()) == 60
    assert duplicate_creates(store.sandbox.ledger())[BO] == 0
    assert (
        SyncState.objects.filter(item__in=items + more, provider=BO, status="synced").count() == 60
    )


def test_a_refused_array_goes_one_by_one_and_names_the_item_at_fault(
    store, sandbox_catalog, uploads_sent, no_publishing, django_capture_on_commit_callbacks
):
    items = many(store, sandbox_catalog, 20)
    bad = store.create(part_number="99999zz", color_id=11)  # BrickLink knows no such part
    with django_capture_on_commit_callbacks(execute=True):
        outcome = upload_run(store.account.id, BL)
    assert outcome.synced == 0
    refused = SyncState.objects.filter(provider=BL, last_error__code="batch_refused")
    assert refused.count() == 21
    assert {(item_id, p) for item_id, p in no_publishing} >= {(i.id, BL) for i in items}
    # One by one: the good ones are created, the bad one fails on its own, named.
    for item in [*items, bad]:
        store.sync(item, BL)
    assert SyncState.objects.filter(item__in=items, provider=BL, status="synced").count() == 20
    failed = store.state(bad, BL)
    assert failed.status == "failed"
    assert "99999zz" in failed.last_error["message"] or failed.last_error["http_status"] == 400
    # And not taken into a batch again.
    assert upload_run(store.account.id, BL).synced == 0


def test_an_upload_that_must_wait_puts_its_chunk_back_and_comes_back(
    store, sandbox_catalog, uploads_sent, settings
):
    from ratelimit.services import rate_limit_exhaust_until

    many(store, sandbox_catalog, 25)
    rate_limit_exhaust_until(name="bricklink:account", key=str(store.account.id), retry_after=30)
    outcome = upload_run(store.account.id, BL)
    assert outcome.synced == 0
    assert outcome.waiting is not None
    assert uploads_sent == [(store.account.id, BL, pytest.approx(outcome.waiting, abs=1))]
    states = SyncState.objects.filter(provider=BL)
    assert not states.filter(claim_token__isnull=False).exists()
    assert states.filter(status="syncing", attempts=0).count() == 25
    assert store.sandbox.calls()["total"] == 0


def test_a_batch_claim_takes_only_free_due_rows_and_one_token(store, sandbox_catalog):
    many(store, sandbox_catalog, 10)
    rows = SyncState.objects.filter(provider=BL)
    taken = rows.first()
    taken.next_attempt_at = clock.now().replace(year=2100)
    taken.save()
    claims = claim_batch(SYNCS, rows, now=clock.now(), limit=100)
    assert len(claims) == 9
    assert len({claim.token for claim in claims}) == 1
    assert claim_batch(SYNCS, rows, now=clock.now(), limit=100) == []


def test_the_admin_shows_an_uploads_progress_on_each_connection(
    store, sandbox_catalog, uploads_sent, admin_client, settings
):
    from django.urls import reverse

    settings.INVENTORY_BRICKLINK_BATCH_SIZE = 20
    many(store, sandbox_catalog, 30)
    claims = claim_batch(SYNCS, SyncState.objects.filter(provider=BL), now=clock.now(), limit=20)
    assert len(claims) == 20
    SyncState.objects.filter(pk__in=[c.pk for c in claims]).update(
        status="synced", claim_token=None
    )
    page = admin_client.get(reverse("admin:inventory_marketplaceconnection_changelist"))
    text = page.content.decode()
    assert "20 of 30 synced (66 %), 10 waiting" in text
    assert "0 of 30 synced (0 %), 30 waiting" in text


def test_a_switched_off_store_or_no_external_calls_sends_the_syncs_one_by_one(
    store, sandbox_catalog, uploads_sent, no_publishing, settings
):
    from inventory.models import MarketplaceConnection

    items = many(store, sandbox_catalog, 25)
    no_publishing.clear()
    MarketplaceConnection.objects.filter(account=store.account, provider=BL).update(enabled=False)
    assert upload_run(store.account.id, BL).synced == 0
    assert sorted(no_publishing) == sorted((item.id, BL) for item in items)
    assert store.sandbox.calls()["total"] == 0
    settings.DISABLE_EXTERNAL_CALLS = True
    SyncState.objects.update(dispatched_at=None)
    assert uploads_send(clock.now()) == 0
    assert uploads_sent == []


def test_a_listing_that_fails_after_the_array_was_created_leaves_its_syncs_in_doubt(
    store, sandbox_catalog, uploads_sent
):
    items = many(store, sandbox_catalog, 25)
    store.sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "GET",
                "path": "^/inventories$",
                "error_500": 1.0,
                "times": 1,
            }
        ]
    )
    assert upload_run(store.account.id, BL).synced == 0
    states = SyncState.objects.filter(item__in=items, provider=BL)
    # Created, not listed: a definite 500 on the listing must not clear the doubt, or the
    # next run would create all 25 again.
    assert states.filter(in_doubt=True, status="syncing").count() == 25
    states.update(next_attempt_at=clock.now())
    assert upload_run(store.account.id, BL).synced == 25
    assert store.sandbox.calls()["by_endpoint"]["POST /bricklink/inventories"] == 1
    assert duplicate_creates(store.sandbox.ledger())[BL] == 0
    assert_stores_match_items(store.sandbox, store.account, providers=[BL])
