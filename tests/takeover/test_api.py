"""The takeover API's rules, and a takeover run here (no worker) against the sandbox."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.models import InventoryItem, MarketplaceConnection, SyncState
from takeover.models import StoreImport
from takeover.services import import_run
from tests.factories import AccountFactory, MarketplaceConnectionFactory, MembershipFactory
from tests.inventory.conftest import BL, BO
from tests.takeover.helpers import BL_KEY, seller_bricklink_lot, seller_brickowl_lot

pytestmark = pytest.mark.usefixtures("no_publishing")


@pytest.fixture
def sent(monkeypatch):
    runs = []
    monkeypatch.setattr(
        "takeover.services.publish_import", lambda import_id, countdown=None: runs.append(import_id)
    )
    return runs


def start(client, provider, **body):
    return client.post(f"/api/v1/marketplaces/{provider}/import/", body, format="json")


def test_owner_starts_an_import_and_reads_it(
    owner_client, account, sent, django_capture_on_commit_callbacks
):
    MarketplaceConnectionFactory(account=account, provider=BL, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = start(owner_client, BL)
    assert response.status_code == 202, response.content
    import_id = response.json()["import_id"]
    assert sent == [import_id]
    body = owner_client.get(f"/api/v1/imports/{import_id}/").json()
    assert body["status"] == "running"
    assert body["provider"] == BL
    assert body["dry_run"] is False
    for key in ("lots_seen", "items_created", "items_linked", "unmapped", "started_at"):
        assert key in body
    assert body["finished_at"] is None
    # One running import per store: a second is refused and names the running one.
    again = start(owner_client, BL)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "import_running"
    assert again.json()["error"]["details"] == {"import_id": import_id}


def test_member_may_neither_start_nor_read(member_client, account, sent):
    MarketplaceConnectionFactory(account=account, provider=BL)
    assert start(member_client, BL).status_code == 403
    mine = StoreImport.objects.create(account=account, provider=BL, started_at="2026-01-01T00:00Z")
    assert member_client.get(f"/api/v1/imports/{mine.pk}/").status_code == 403
    assert sent == []


def test_another_accounts_import_is_not_found(owner_client):
    other = StoreImport.objects.create(
        account=AccountFactory(), provider=BL, started_at="2026-01-01T00:00Z"
    )
    response = owner_client.get(f"/api/v1/imports/{other.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_provider_or_an_unconfigured_store_is_refused(owner_client, account, sent):
    response = start(owner_client, "ebay")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_marketplace")
    response = start(owner_client, BO)  # no connection
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "marketplace_not_configured"
    MarketplaceConnectionFactory(account=account, provider=BO, enabled=False, credentials=None)
    response = start(owner_client, BO)  # connected, no credentials
    assert response.json()["error"]["code"] == "marketplace_not_configured"
    response = start(owner_client, BL, dry_run="maybe")
    assert response.status_code == 400
    assert not StoreImport.objects.exists()
    assert sent == []


def test_a_dry_run_reports_and_writes_nothing(store, client_for, sent):
    seller_bricklink_lot(store.sandbox, quantity=7)
    seller_bricklink_lot(store.sandbox, part="3003", quantity=2, remarks="")
    client = client_for(store.owner)
    response = start(client, BL, dry_run=True)
    import_id = response.json()["import_id"]
    assert import_run(import_id=import_id) == "done"
    body = client.get(f"/api/v1/imports/{import_id}/").json()
    assert (body["status"], body["dry_run"], body["lots_seen"], body["items_created"]) == (
        "done",
        True,
        2,
        2,
    )
    assert not InventoryItem.objects.exists()
    assert not SyncState.objects.exists()


def test_a_takeover_links_creates_reports_unmapped_and_runs_again_harmlessly(
    store, sandbox_catalog
):
    existing = store.create(part_number="3001", color_id=11, condition="new")
    seller_bricklink_lot(store.sandbox, quantity=7)  # same part/color/condition: linked
    seller_bricklink_lot(store.sandbox, part="3003", quantity=2)  # a new item
    minifig = store.sandbox.inventory_change(
        provider="bricklink",
        account=BL_KEY,
        op="create",
        lot={
            "item": {"no": sandbox_catalog.of_type("MINIFIG")[0].no, "type": "MINIFIG"},
            "color_id": 0,
            "quantity": 1,
            "new_or_used": "U",
            "unit_price": "1.0000",
        },
    )["lot"]
    call_command("import_store", account=store.account.pk, provider=BL)
    done = StoreImport.objects.get()
    assert (done.lots_seen, done.items_linked, done.items_created) == (3, 1, 1)
    assert done.unmapped == [
        {
            "lot_id": str(minifig["inventory_id"]),
            "reason": "a MINIFIG lot: only parts are taken over",
        }
    ]
    assert store.state(existing, BL).status == "synced"
    assert existing.history.count() == 1  # linked, not changed: quantity stays 5
    made = InventoryItem.objects.get(part_number="3003")
    assert made.history.get().change_type == "import"
    assert made.history.get().reason == "takeover of bricklink store"
    # Run again: every lot is already linked; nothing new.
    call_command("import_store", account=store.account.pk, provider=BL)
    again = StoreImport.objects.first()
    assert (again.lots_already_ours, again.items_linked, again.items_created) == (2, 0, 0)
    assert InventoryItem.objects.count() == 2
    assert [e["op"] for e in store.ledger("bricklink")] == []  # no lot created, none changed


def test_brickowl_lots_of_unknown_parts_or_colors_are_listed_untouched(store, sandbox_catalog):
    store.create(part_number="3001", color_id=11, condition="new")
    unknown = sandbox_catalog.item("PART", "3003").boid  # no item has 3003: no BOID known
    owl_color = sandbox_catalog.colors[11].brickowl_id
    lot = seller_brickowl_lot(store.sandbox, unknown, owl_color)
    call_command("import_store", account=store.account.pk, provider=BO)
    done = StoreImport.objects.get()
    assert done.unmapped == [
        {
            "lot_id": lot["lot_id"],
            "reason": f"BrickOwl part {unknown} has no known BrickLink number",
        }
    ]
    assert done.items_created == 0
    assert [e["op"] for e in store.ledger("brickowl")] == []


def test_the_command_refuses_bad_input(store):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_store", account=999999, provider=BL)
    with pytest.raises(CommandError, match="--provider"):
        call_command("import_store", account=store.account.pk, provider="ebay")
    MarketplaceConnection.objects.filter(account=store.account, provider=BO).delete()
    with pytest.raises(CommandError, match="connect your brickowl store"):
        call_command("import_store", account=store.account.pk, provider=BO)


def test_the_command_dry_run_prints_the_report(store, capsys):
    seller_bricklink_lot(store.sandbox)
    call_command("import_store", account=store.account.pk, provider=BL, dry_run=True)
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out
    assert "1 new item(s)" in out
    assert not InventoryItem.objects.exists()


def test_member_of_other_account_cannot_touch_imports(client_for, account):
    other_owner = MembershipFactory(account=AccountFactory(), role="owner").user
    mine = StoreImport.objects.create(account=account, provider=BL, started_at="2026-01-01T00:00Z")
    assert client_for(other_owner).get(f"/api/v1/imports/{mine.pk}/").status_code == 404


def test_an_import_whose_message_was_lost_is_sent_again_by_the_sweep(
    account, monkeypatch, fake_clock, settings
):
    from takeover.services import import_begin, imports_resend

    settings.TAKEOVER_RESEND_SECONDS = 300
    sent = []
    monkeypatch.setattr(
        "takeover.services._send_import", lambda import_id, countdown: sent.append(import_id)
    )
    MarketplaceConnectionFactory(account=account, provider=BL, enabled=False)
    # The broker was down when it was started: never sent.
    lost = import_begin(account=account, provider=BL, dry_run=False, actor=None, publish=False)
    assert imports_resend(fake_clock()) == 0  # just started: not yet taken for lost
    fake_clock.advance(seconds=301)
    assert imports_resend(fake_clock()) == 1
    assert sent == [lost.pk]
    # Sent now: not again until it has been quiet as long once more.
    fake_clock.advance(seconds=200)
    assert imports_resend(fake_clock()) == 0
    # A finished import is never sent again.
    fake_clock.advance(seconds=200)
    StoreImport.objects.filter(pk=lost.pk).update(status="done")
    assert imports_resend(fake_clock()) == 0
    assert sent == [lost.pk]
