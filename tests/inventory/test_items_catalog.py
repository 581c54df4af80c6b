"""Items checked against the catalog (its tables only, never BrickLink) and named by it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Color, MissingPart, Priority, RefreshJob
from catalog.services import part_upsert
from core import clock
from inventory import services
from inventory.catalog_checks import catalog_check, catalog_check_many
from inventory.models import ChangeType, InventoryHistory, InventoryItem
from marketplaces.bricklink import Item
from tests.factories import AccountFactory, PartFactory, part_colors
from tests.inventory.item_helpers import (
    ITEMS,
    VALID,
    assert_nothing_written,
    error_of,
    make_item,
    snapshot,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published", "fake_clock")]


@pytest.fixture(autouse=True)
def no_bricklink(monkeypatch):
    """A refresh sent to a worker would be the only way to BrickLink: none may be."""
    sent = []
    monkeypatch.setattr("catalog.work.publish_refresh", lambda *a, **kw: sent.append(a))
    monkeypatch.setattr("catalog.work.publish_refreshes", lambda *a, **kw: sent.append(a))
    yield
    assert sent == []


def missing(no, days_ago=1):
    return MissingPart.objects.create(no=no, confirmed_at=clock.now() - timedelta(days=days_ago))


def stored(no="3001", name="Brick 2 x 4", name_at=None):
    """The catalog's part as a refresh stores it."""
    item = Item(
        no=no,
        name=name,
        type="PART",
        category_id=5,
        alternate_no="",
        image_url="",
        thumbnail_url="",
        weight=None,
        dim_x=None,
        dim_y=None,
        dim_z=None,
        year_released=None,
        description="",
        is_obsolete=False,
        language_code="",
    )
    part_upsert(no=no, item=item, fetched_at=name_at or clock.now())


def part_refreshes(no="3001"):
    return list(RefreshJob.objects.filter(resource=f"part:{no}").values("status", "priority"))


# --- refused -------------------------------------------------------------------------------------


def test_item_create_refuses_a_part_bricklink_said_does_not_exist_and_writes_nothing(
    owner_client, bricklink_on, django_capture_on_commit_callbacks
):
    missing("3001")
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(ITEMS, VALID)
    error = error_of(response, 400)
    assert list(error["details"]) == ["part_number"]
    assert "3001" in error["details"]["part_number"][0]
    assert_nothing_written()
    assert callbacks == []
    assert part_refreshes() == []


def test_item_create_accepts_a_part_whose_not_found_record_is_too_old_and_asks_again(
    owner_client, settings
):
    missing("3001", days_ago=settings.CATALOG_NOT_FOUND_DAYS + 1)
    assert owner_client.post(ITEMS, VALID).status_code == 201
    assert part_refreshes() == [{"status": "pending", "priority": Priority.NORMAL}]


def test_item_create_refuses_a_color_the_part_is_known_not_to_come_in(owner_client):
    PartFactory(no="3001")
    part_colors("3001", {5: 30, 11: 120})
    error = error_of(owner_client.post(ITEMS, {**VALID, "color_id": 6}), 400)
    assert list(error["details"]) == ["color_id"]
    assert_nothing_written()


def test_item_create_accepts_any_color_while_the_known_colors_are_not_fresh(
    owner_client, fake_clock, settings
):
    PartFactory(no="3001")
    part_colors("3001", {5: 30}, last_fetched=clock.now())
    fake_clock.advance(days=settings.CATALOG_FRESH_DAYS + 1)  # stale now
    response = owner_client.post(ITEMS, {**VALID, "color_id": 6})
    assert response.status_code == 201, response.content


def test_item_create_accepts_any_color_of_a_part_with_no_known_colors(owner_client):
    PartFactory(no="3001")
    part_colors("3001", {})
    assert owner_client.post(ITEMS, {**VALID, "color_id": 6}).status_code == 201


def test_item_create_refuses_an_id_that_is_no_bricklink_color(owner_client):
    Color.objects.create(color_id=11, name="Black", last_fetched=clock.now())
    error = error_of(owner_client.post(ITEMS, {**VALID, "color_id": 999}), 400)
    assert list(error["details"]) == ["color_id"]
    assert_nothing_written()
    assert owner_client.post(ITEMS, VALID).status_code == 201


def test_item_create_names_every_problem_at_once(owner_client):
    missing("3001")
    Color.objects.create(color_id=11, name="Black", last_fetched=clock.now())
    error = error_of(owner_client.post(ITEMS, {**VALID, "color_id": 999}), 400)
    assert set(error["details"]) == {"part_number", "color_id"}


# --- accepted, named -----------------------------------------------------------------------------


def test_item_create_accepts_a_part_never_seen_and_asks_the_catalog_for_it(
    owner_client, bricklink_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(ITEMS, {**VALID, "part_number": "99999"})
    assert response.status_code == 201, response.content
    assert response.json()["name"] == ""
    assert part_refreshes("99999") == [{"status": "pending", "priority": Priority.NORMAL}]
    assert len(callbacks) == 1  # the sync alone: the refresh waits for the drain
    owner_client.post(ITEMS, {**VALID, "part_number": "99999", "condition": "used"})
    assert len(part_refreshes("99999")) == 1  # asked once


def test_item_created_from_a_file_asks_for_its_part_at_low_priority(account, owner):
    services.item_create(account=account, actor=owner, data=VALID, change_type=ChangeType.IMPORT)
    assert part_refreshes() == [{"status": "pending", "priority": Priority.LOW}]


def test_item_create_of_a_known_part_asks_nothing(owner_client):
    PartFactory(no="3001")
    assert owner_client.post(ITEMS, VALID).status_code == 201
    assert part_refreshes() == []


def test_item_create_takes_the_catalogs_name_of_the_part(owner_client):
    PartFactory(no="3001", name="Brick 2 x 4")
    response = owner_client.post(ITEMS, VALID)
    assert response.json()["name"] == "Brick 2 x 4"
    history = InventoryHistory.objects.get()
    assert history.changes["name"] == [None, "Brick 2 x 4"]


def test_item_create_keeps_a_name_the_seller_gives(owner_client):
    PartFactory(no="3001", name="Brick 2 x 4")
    response = owner_client.post(ITEMS, {**VALID, "name": "red bricks, bin 4"})
    assert response.json()["name"] == "red bricks, bin 4"


def test_items_take_the_name_when_the_catalog_stores_their_part(account, owner, fake_clock):
    unnamed = make_item(account, owner)
    elsewhere = make_item(AccountFactory(), None)  # every account's items
    own_name = make_item(account, owner, name="my favourite brick")
    other_part = make_item(account, owner, part_number="3002")
    before = {item.pk: snapshot(item) for item in (unnamed, elsewhere)}
    fake_clock.advance(minutes=5)
    with CaptureQueriesContext(connection) as queries:
        stored("3001", "Brick 2 x 4")
    updates = [q for q in queries if q["sql"].startswith('UPDATE "inventory_inventoryitem"')]
    assert len(updates) == 1  # one UPDATE for the part, however many items

    names = dict(InventoryItem.objects.values_list("pk", "name"))
    assert names[unnamed.pk] == names[elsewhere.pk] == "Brick 2 x 4"
    assert names[own_name.pk] == "my favourite brick"
    assert names[other_part.pk] == ""
    for item in (unnamed, elsewhere):  # the catalog's doing: no history, version, sync
        fields, history, syncs = before[item.pk]
        after_fields, after_history, after_syncs = snapshot(item)
        assert after_fields == {**fields, "name": "Brick 2 x 4"}
        assert (after_history, after_syncs) == (history, syncs)


def test_items_follow_the_catalogs_name_when_it_changes(account, owner):
    stored("3001", "Brick 2 x 4")
    follows = make_item(account, owner)
    own_name = make_item(account, owner, name="spare bricks")
    stored("3001", "Brick 2 x 4 (new mould)")
    names = dict(InventoryItem.objects.values_list("pk", "name"))
    assert names[follows.pk] == "Brick 2 x 4 (new mould)"
    assert names[own_name.pk] == "spare bricks"


# --- updates -------------------------------------------------------------------------------------


def test_item_update_that_changes_the_part_is_checked_again(owner_client, item):
    missing("3005")
    before = snapshot(item)
    error = error_of(owner_client.patch(url(item.id), {"part_number": "3005"}), 400)
    assert list(error["details"]) == ["part_number"]
    assert snapshot(item) == before


def test_item_update_that_changes_the_color_is_checked_against_the_fresh_colors(owner_client, item):
    part_colors("3001", {5: 30, 11: 120})
    before = snapshot(item)
    error = error_of(owner_client.patch(url(item.id), {"color_id": 6}), 400)
    assert list(error["details"]) == ["color_id"]
    assert snapshot(item) == before
    response = owner_client.patch(url(item.id), {"color_id": 5})
    assert response.status_code == 200, response.content


def test_item_update_that_keeps_the_part_and_color_is_not_checked(owner_client, item):
    """A part found missing after the item was made does not lock the item."""
    missing("3001")
    response = owner_client.patch(url(item.id), {"part_number": "3001", "quantity_available": 2})
    assert response.status_code == 200, response.content


def test_item_update_to_another_part_takes_that_parts_name(owner_client, item):
    PartFactory(no="3001", name="Brick 2 x 4")
    PartFactory(no="3003", name="Brick 2 x 2")
    stored("3001", "Brick 2 x 4")  # the item now holds the catalog's name
    assert InventoryItem.objects.get(pk=item.pk).name == "Brick 2 x 4"
    response = owner_client.patch(url(item.id), {"part_number": "3003"})
    assert response.json()["name"] == "Brick 2 x 2"
    response = owner_client.patch(url(item.id), {"part_number": "99999"})
    assert response.json()["name"] == ""  # until the catalog has it
    assert part_refreshes("99999") == [{"status": "pending", "priority": Priority.NORMAL}]


def test_item_update_to_another_part_keeps_the_sellers_name(owner_client, item):
    PartFactory(no="3003", name="Brick 2 x 2")
    owner_client.patch(url(item.id), {"name": "lot from the fair"})
    response = owner_client.patch(url(item.id), {"part_number": "3003"})
    assert response.json()["name"] == "lot from the fair"
    response = owner_client.patch(url(item.id), {"name": ""})
    assert response.json()["name"] == "Brick 2 x 2"


# --- the check an importer uses ------------------------------------------------------------------


def test_catalog_check_many_answers_per_lot_and_field_in_a_few_queries():
    missing("3005")
    PartFactory(no="3001")
    part_colors("3001", {5: 30, 11: 120})
    Color.objects.bulk_create(
        Color(color_id=color_id, name=str(color_id), last_fetched=clock.now())
        for color_id in (5, 6, 11)
    )
    lots = [("3001", 11), ("3001", 6), ("3005", 11), ("4242", 6), ("4242", 77)]
    lots += [(f"77{n}", 5) for n in range(50)]
    with CaptureQueriesContext(connection) as queries:
        problems = catalog_check_many(lots)
    assert len(queries) <= 6
    assert problems == {
        ("3001", 6): {"color_id": "Part 3001 is not known in color 6."},
        ("3005", 11): {"part_number": "BrickLink has no part 3005."},
        ("4242", 77): {"color_id": "77 is not a BrickLink color."},
    }
    assert catalog_check(part_number="3001", color_id=11) == {}
