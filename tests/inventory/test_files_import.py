"""POST /api/v1/inventory/import/: the formats, merge and add, dry runs, the history and the
syncs of what an import writes, and who may import."""

from decimal import Decimal

import pytest

from inventory import services
from inventory.files import base, csvfile, xmlsafe
from inventory.files.base import MAX_LOTS
from inventory.models import InventoryHistory, InventoryItem, SyncState
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.inventory.file_helpers import (
    IMPORT,
    bricklink_xml,
    bsx,
    csv_file,
    items_of,
    lot,
    upload,
    writes,
)
from tests.inventory.item_helpers import error_of, make_item
from tests.longform import LONG

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]

REPORT_KEYS = {"created", "updated", "unchanged", "errors"}


def report_of(response, status=200) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == REPORT_KEYS
    return body


def test_import_bricklink_xml_creates_every_lot(owner_client, account, owner):
    content = bricklink_xml(
        lot("3001", 11, "N", 5, price="0.125", notes="Red & <new>", location="Box 1"),
        lot("3002", 5, "U", 0, item_type="P"),
        lot("3003", 0, "n", 12, price="2"),
    )
    body = report_of(upload(owner_client, content))
    assert body == {"created": 3, "updated": 0, "unchanged": 0, "errors": []}
    assert items_of(account) == [
        ("3001", 11, "new", 5, Decimal("0.125"), "Red & <new>", "Box 1"),
        ("3002", 5, "used", 0, Decimal(0), "", ""),
        ("3003", 0, "new", 12, Decimal(2), "", ""),
    ]
    for item in InventoryItem.objects.filter(account=account):
        assert item.created_by == owner
        assert item.status == "available"


def test_import_reads_a_brickstore_file_and_the_bricksync_doctype(owner_client, account):
    content = bsx(
        lot("3001", 11, "N", 5, price="0.1250", name="Brick 2 x 4", notes="n", location="A1"),
        lot("3004", 1, "U", 2),
        doctype="<!DOCTYPE BrickStoreXML>\n",
    )
    body = report_of(upload(owner_client, content, name="store.bsx", mode="add"))
    assert body["created"] == 2
    assert items_of(account, "part_number", "name", "condition", "location") == [
        ("3001", "Brick 2 x 4", "new", "A1"),
        ("3004", "", "used", ""),
    ]


def test_import_reads_brickstocks_root_too(owner_client, account):
    content = bsx(lot("3001", 11, "N", 5)).replace(b"BrickStoreXML", b"BrickStockXML")
    assert report_of(upload(owner_client, content))["created"] == 1


def test_import_reads_the_csv_the_export_writes(owner_client, account):
    content = csv_file(
        "3001,11,N,5,0.5,'=SUM(A1),shelf",
        '3002,1,used,3,,"two, lines\nhere",',
        header="part_number,color_id,condition,quantity_available,price,notes,location",
    )
    body = report_of(upload(owner_client, content, name="inventory.csv"))
    assert body["created"] == 2
    assert items_of(account) == [
        ("3001", 11, "new", 5, Decimal("0.5"), "=SUM(A1)", "shelf"),
        ("3002", 1, "used", 3, Decimal(0), "two, lines\nhere", ""),
    ]


def test_the_format_is_told_by_the_content_not_the_name(owner_client, account):
    content = bricklink_xml(lot("3001", 11, "N", 1))
    assert report_of(upload(owner_client, content, name="inventory.csv"))["created"] == 1
    with_bom = b"\xef\xbb\xbf" + csv_file("3002,1,N,1")
    assert report_of(upload(owner_client, with_bom, name="x.xml"))["created"] == 1


def test_unknown_tags_and_columns_are_read_past(owner_client, account):
    content = bricklink_xml(lot("3001", 11, "N", 5)).replace(
        b"<ITEMTYPE>", b"<BULK>5</BULK><TQ1>10</TQ1><LOTID>123</LOTID><ITEMTYPE>"
    )
    assert report_of(upload(owner_client, content))["created"] == 1
    content = bricklink_xml(lot("3002", 11, "N", 5))
    assert report_of(upload(owner_client, content))["created"] == 1
    csv_extra = csv_file("3003,1,N,2,x", header="part_number,color_id,condition,qty_x,extra")
    response = upload(owner_client, csv_extra)
    assert "quantity_available" in error_of(response, 400)["message"]


# --- merge and add -------------------------------------------------------------------------


@pytest.fixture
def stocked(account, owner):
    """An item the files below merge into."""
    return make_item(
        account,
        owner,
        part_number="3001",
        color_id=11,
        condition="new",
        quantity_available=10,
        price=Decimal("0.5"),
        notes="old notes",
        location="L1",
    )


MIXED = bricklink_xml(
    lot("3001", 11, "N", 5, price="0.6"),  # 0: updates the stocked item (+5, new price)
    lot("3001", 11, "U", 2),  # 1: another condition: a new item
    lot("3001", 11, "N", 0),  # 2: matches, changes nothing: unchanged
    lot("3002", 1, "N", 3),  # 3: a new item
    lot("3002", 1, "N", 4, location="B2"),  # 4: merges into the item lot 3 made
)


def test_merge_adds_the_quantity_and_replaces_what_the_lot_gives(owner_client, account, stocked):
    body = report_of(upload(owner_client, MIXED, mode="merge"))
    assert body == {"created": 2, "updated": 2, "unchanged": 1, "errors": []}
    stocked.refresh_from_db()
    assert (stocked.quantity_available, stocked.price) == (15, Decimal("0.6"))
    assert (stocked.notes, stocked.location) == ("old notes", "L1")  # not given: kept
    assert items_of(account) == [
        ("3001", 11, "new", 15, Decimal("0.6"), "old notes", "L1"),
        ("3001", 11, "used", 2, Decimal(0), "", ""),
        ("3002", 1, "new", 7, Decimal(0), "", "B2"),
    ]


def test_merge_is_the_default_mode(owner_client, account, stocked):
    assert report_of(upload(owner_client, MIXED))["updated"] == 2


def test_add_makes_every_lot_a_new_item(owner_client, account, stocked):
    body = report_of(upload(owner_client, MIXED, mode="add"))
    assert body == {"created": 5, "updated": 0, "unchanged": 0, "errors": []}
    stocked.refresh_from_db()
    assert stocked.quantity_available == 10
    assert len(items_of(account)) == 6


def test_merge_replaces_notes_and_location_given_empty(owner_client, account, stocked):
    content = bricklink_xml(lot("3001", 11, "N", 0, notes="", location=""))
    assert report_of(upload(owner_client, content))["updated"] == 1
    stocked.refresh_from_db()
    assert (stocked.notes, stocked.location, stocked.quantity_available) == ("", "", 10)


def test_merge_matches_the_oldest_live_item_of_the_callers_account(
    owner_client, account, owner, stocked
):
    newer = make_item(account, owner, part_number="3001", color_id=11, quantity_available=1)
    archived = make_item(account, owner, part_number="3002", color_id=1, quantity_available=1)
    services.item_archive(item=archived, actor=owner)
    theirs = make_item(AccountFactory(), None, part_number="3003", color_id=1)
    content = bricklink_xml(lot("3001", 11, "N", 1), lot("3002", 1, "N", 1), lot("3003", 1, "N"))
    body = report_of(upload(owner_client, content))
    assert body == {"created": 2, "updated": 1, "unchanged": 0, "errors": []}
    stocked.refresh_from_db()
    newer.refresh_from_db()
    assert (stocked.quantity_available, newer.quantity_available) == (11, 1)
    archived.refresh_from_db()
    assert archived.quantity_available == 1
    theirs.refresh_from_db()
    assert theirs.quantity_available == 0
    assert InventoryItem.objects.filter(account=account, part_number="3003").count() == 1


def test_merge_never_changes_status_name_reserved_or_sold(owner_client, account, owner):
    item = make_item(account, owner, name="Brick", quantity_available=1, quantity_reserved=2)
    services.item_update(item=item, actor=owner, data={"status": "reserved", "quantity_sold": 3})
    content = bsx(lot("3001", 11, "N", 4, name="Other name"))
    assert report_of(upload(owner_client, content))["updated"] == 1
    item.refresh_from_db()
    assert (item.name, item.status) == ("Brick", "reserved")
    assert (item.quantity_available, item.quantity_reserved, item.quantity_sold) == (5, 2, 3)


def test_a_merge_past_the_largest_quantity_is_an_error(owner_client, account, owner, stocked):
    content = bricklink_xml(lot("3001", 11, "N", 2_147_483_640))
    before = writes()
    error = error_of(upload(owner_client, content), 400)
    assert error["details"]["errors"] == [
        {"index": 0, "message": "QTY: the item would hold more than 2147483647"}
    ]
    assert writes() == before


# --- dry runs --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["merge", "add"])
def test_a_dry_run_answers_the_report_and_writes_nothing(owner_client, account, stocked, mode):
    before, published_before = writes(), items_of(account)
    dry = report_of(upload(owner_client, MIXED, mode=mode, dry_run="true"))
    assert writes() == before
    assert items_of(account) == published_before
    real = report_of(upload(owner_client, MIXED, mode=mode))
    assert dry == real


def test_a_dry_run_names_the_invalid_lots_and_counts_the_valid(owner_client, account, published):
    content = bricklink_xml(lot("3001", 11, "N", 1), lot("3002", 11, "N", -4), lot(qty="x"))
    body = report_of(upload(owner_client, content, dry_run="true"))
    assert body["created"] == 1
    assert [error["index"] for error in body["errors"]] == [1, 2]
    assert writes() == (0, 0, 0)
    assert published == []


# --- what an import writes -------------------------------------------------------------------


def test_imported_changes_have_import_history(owner_client, account, owner, stocked):
    report_of(upload(owner_client, MIXED, name="shop.xml"))
    rows = InventoryHistory.objects.filter(account=account, change_type="import").order_by("id")
    # New items are written together, before the changes to existing ones.
    assert sorted((row.item.part_number, row.quantity_available_delta) for row in rows) == [
        ("3001", 2),
        ("3001", 5),
        ("3002", 3),
        ("3002", 4),
    ]
    assert {row.actor for row in rows} == {owner}
    assert {row.reason for row in rows} == {"BrickLink XML inventory import (merge) of shop.xml"}
    assert rows.get(item=stocked).changes["price"] == ["0.5000", "0.6000"]
    history = owner_client.get(f"/api/v1/inventory/items/{stocked.id}/history/").json()
    assert [row["change_type"] for row in history["results"]] == ["import", "create"]


def test_an_import_syncs_each_item_once_after_commit(
    owner_client, account, bricklink_on, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report_of(upload(owner_client, MIXED))
    items = InventoryItem.objects.filter(account=account).order_by("id")
    assert len(callbacks) == 1  # one batch for the whole file
    assert sorted(published) == sorted((item.id, "bricklink") for item in items)
    states = SyncState.objects.filter(item__in=items)
    assert {(state.provider, state.status) for state in states} == {
        ("bricklink", "syncing"),
        ("brickowl", "disabled"),
    }


def test_a_big_import_sends_one_sweep(
    owner_client, account, bricklink_on, published, django_capture_on_commit_callbacks
):
    content = bricklink_xml(*(lot(f"9{n}", 1, "N", 1) for n in range(150)))
    with django_capture_on_commit_callbacks(execute=True):
        assert report_of(upload(owner_client, content))["created"] == 150
    assert published == ["sweep"]
    assert SyncState.objects.filter(provider="bricklink", status="syncing").count() == 150


def test_the_sync_marker_of_another_item_never_comes_in_with_the_remarks(owner_client, account):
    content = bricklink_xml(lot("3001", 11, "N", 1, location="Box 7 [brickops:42]"))
    report_of(upload(owner_client, content))
    assert items_of(account, "location") == [("Box 7",)]


# --- who may import --------------------------------------------------------------------------


def test_a_member_may_not_import(member_client, account):
    response = upload(member_client, bricklink_xml(lot()))
    error_of(response, 403, "permission_denied")
    assert writes() == (0, 0, 0)


def test_a_user_without_an_account_may_not_import(client_for):
    response = upload(client_for(UserFactory()), bricklink_xml(lot()))
    assert response.status_code == 403
    assert writes() == (0, 0, 0)


def test_import_needs_authentication(api_client):
    error_of(upload(api_client, bricklink_xml(lot())), 401, "not_authenticated")
    assert writes() == (0, 0, 0)


def test_an_import_lands_in_the_callers_account_only(client_for, account, stocked):
    other = AccountFactory()
    other_owner = MembershipFactory(account=other, role="owner").user
    body = report_of(upload(client_for(other_owner), MIXED))
    assert body["created"] == 3  # nothing of the first account's is matched
    stocked.refresh_from_db()
    assert stocked.quantity_available == 10
    assert len(items_of(other)) == 3
    assert len(items_of(account)) == 1


def test_import_without_a_file_is_400(owner_client):
    error = error_of(owner_client.post(IMPORT), 400)
    assert "file" in error["details"]


# --- big files -------------------------------------------------------------------------------


def test_a_file_of_as_many_lots_as_allowed_is_read_whole(owner_client, account, monkeypatch):
    """At the limit, not past it: 50,000 lots in `make chaos`; the short form lowers the limit
    to 500 (the same code path, a hundredth of the work)."""
    limit = MAX_LOTS if LONG else 500
    for module in (base, csvfile, xmlsafe):
        monkeypatch.setattr(module, "MAX_LOTS", limit)
    content = bricklink_xml(*(lot(f"p{n}", n % 100, "N", 1) for n in range(limit)))
    body = report_of(upload(owner_client, content, dry_run="true"))
    assert body == {"created": limit, "updated": 0, "unchanged": 0, "errors": []}
    assert writes() == (0, 0, 0)
    one_more = bricklink_xml(*(lot(f"p{n}", n % 100, "N", 1) for n in range(limit + 1)))
    error_of(upload(owner_client, one_more, dry_run="true"), 413, "request_too_large")


@pytest.mark.parametrize("fmt", ["xml", "csv"])
def test_a_file_kept_on_disk_is_read_like_one_in_memory(owner_client, account, fmt, settings):
    """Uploads past FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB; 64 kB here) are written to a temporary
    file by Django, not kept in memory."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    notes = "n" * 100
    if fmt == "xml":
        content = bricklink_xml(*(lot(f"p{n}", 1, "N", 1, notes=notes) for n in range(1_000)))
    else:
        content = csv_file(
            *(f"p{n},1,N,1,{notes}" for n in range(1_000)),
            header="part_number,color_id,condition,quantity_available,notes",
        )
    assert len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    body = report_of(upload(owner_client, content, dry_run="true", mode="add"))
    assert body["created"] == 1_000
