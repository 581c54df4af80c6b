"""The item API refuses bad input to create and update, and then writes nothing."""

import pytest

from tests.inventory.item_helpers import (
    ITEMS,
    VALID,
    assert_nothing_written,
    error_of,
    snapshot,
    url,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


INVALID = [
    ("part_number", "bad$no"),
    ("part_number", ""),
    ("part_number", "-3001"),
    ("part_number", "x" * 41),
    ("part_number", "30\x0001"),
    ("part_number", None),
    ("color_id", -1),
    ("color_id", 1.5),
    ("color_id", True),
    ("color_id", "11"),
    ("color_id", None),
    ("color_id", 2**31),
    ("condition", "mint"),
    ("condition", ""),
    ("condition", None),
    ("status", "gone"),
    ("status", ""),
    ("quantity_available", -1),
    ("quantity_available", 1.5),
    ("quantity_available", True),
    ("quantity_available", "3"),
    ("quantity_available", None),
    ("quantity_available", 2**31),
    ("quantity_available", 1.0),
    ("quantity_reserved", -1),
    ("quantity_reserved", False),
    ("quantity_sold", 2.5),
    ("quantity_sold", -5),
    ("price", "-0.01"),
    ("price", -1),
    ("price", "0.12345"),
    ("price", "abc"),
    ("price", True),
    ("price", "123456789"),
    ("price", "1e20"),
    ("price", "NaN"),
    ("price", "Infinity"),
    ("price", None),
    ("price", [1]),
    ("name", "x" * 501),
    ("name", "a\x00b"),
    ("name", None),
    ("name", ["a"]),
    ("location", "x" * 201),
    ("location", "bin\x00"),
    ("notes", "x" * 2001),
    ("notes", "\x00"),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_item_create_rejects_bad_input_and_writes_nothing(
    owner_client, bricklink_on, django_capture_on_commit_callbacks, field, value
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(ITEMS, {**VALID, field: value})
    error = error_of(response, 400)
    assert field in error["details"]
    assert_nothing_written()
    assert callbacks == []


@pytest.mark.parametrize("field", ["part_number", "color_id", "condition"])
def test_item_create_requires_part_number_color_and_condition(owner_client, field):
    body = {key: value for key, value in VALID.items() if key != field}
    error = error_of(owner_client.post(ITEMS, body), 400)
    assert list(error["details"]) == [field]
    assert_nothing_written()


@pytest.mark.parametrize("body", [[VALID], "3001", 3001, None])
def test_item_create_needs_an_object(owner_client, body):
    response = owner_client.post(ITEMS, body, format="json")
    assert response.status_code == 400
    assert_nothing_written()


def test_item_create_rejects_lone_surrogates(owner_client):
    """JSON can carry "\\ud800", which UTF-8 (and PostgreSQL) cannot store: 400, not 500."""
    raw = '{"part_number": "3001", "color_id": 11, "condition": "new", "name": "\\ud800"}'
    response = owner_client.post(ITEMS, raw, content_type="application/json")
    assert "name" in error_of(response, 400)["details"]
    assert_nothing_written()


def test_item_create_rejects_malformed_json(owner_client):
    response = owner_client.post(ITEMS, '{"part_number": ', content_type="application/json")
    error_of(response, 400, "parse_error")
    assert_nothing_written()


@pytest.mark.parametrize(("field", "value"), [*INVALID, ("reason", "r" * 501), ("reason", "\x00")])
def test_item_update_rejects_bad_input_and_changes_nothing(
    owner_client, item, bricklink_on, django_capture_on_commit_callbacks, field, value
):
    before = snapshot(item)
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.patch(url(item.id), {"quantity_available": 1, field: value})
    assert field in error_of(response, 400)["details"]
    assert snapshot(item) == before
    assert callbacks == []
