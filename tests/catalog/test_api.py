"""Explicit refreshes, bulk refreshes and the reference lists, through the API."""

import pytest

from catalog.models import JobStatus, Priority, RefreshJob

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_publishing(monkeypatch):
    from catalog import work as catalog_work

    monkeypatch.setattr(catalog_work, "publish_refresh", lambda *args, **kw: None)


@pytest.mark.parametrize(
    ("path", "body", "resource"),
    [
        ("parts/3001/refresh/", None, "part:3001"),
        ("parts/3001/colors/refresh/", None, "part_colors:3001"),
        ("parts/3001/price-guide/refresh/", {"color_id": 11}, "price_guide:3001:11"),
    ],
)
def test_explicit_refresh_queues_high_then_reports_the_queued_one(
    member_client, path, body, resource
):
    first = member_client.post(f"/api/v1/catalog/{path}", body)
    assert first.status_code == 202
    job = RefreshJob.objects.get()
    assert first.json() == {"queued": True, "outbox_id": job.id, "status": "pending"}
    assert (job.resource, job.priority) == (resource, Priority.HIGH)
    RefreshJob.objects.update(status=JobStatus.INFLIGHT)
    again = member_client.post(f"/api/v1/catalog/{path}", body)
    assert again.status_code == 202
    assert again.json() == {"queued": False, "outbox_id": job.id, "status": "inflight"}


def test_explicit_refresh_raises_a_pending_one_to_high(member_client):
    member_client.get("/api/v1/catalog/parts/3001/")  # missing: HIGH already
    RefreshJob.objects.update(priority=Priority.LOW)
    response = member_client.post("/api/v1/catalog/parts/3001/refresh/")
    assert response.json()["queued"] is False
    assert RefreshJob.objects.get().priority == Priority.HIGH


def test_explicit_refresh_checks_a_missing_part_again(member_client, fake_clock):
    from catalog.models import MissingPart

    MissingPart.objects.create(no="9999999", confirmed_at=fake_clock())
    response = member_client.post("/api/v1/catalog/parts/9999999/refresh/")
    assert response.status_code == 202
    assert RefreshJob.objects.filter(no="9999999").exists()


@pytest.mark.parametrize("body", [None, {}, {"color_id": -1}, {"color_id": "eleven"}])
def test_price_guide_refresh_needs_a_color_id(member_client, body):
    response = member_client.post("/api/v1/catalog/parts/3001/price-guide/refresh/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "color_id" in response.json()["error"]["details"]
    assert not RefreshJob.objects.exists()


def test_explicit_refresh_of_an_invalid_number_is_400(member_client):
    response = member_client.post("/api/v1/catalog/parts/bad$no/refresh/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_part_number"


def test_bulk_refresh_queues_new_and_counts_already_queued(member_client):
    member_client.post("/api/v1/catalog/parts/3001/refresh/")
    items = [
        {"kind": "part", "no": "3001"},
        {"kind": "part_colors", "no": "3001"},
        {"kind": "price_guide", "no": "3001", "color_id": 11},
        {"kind": "price_guide", "no": "3001", "color_id": 11},  # a duplicate counts once
        {"kind": "part", "no": "973pb0001"},
    ]
    response = member_client.post("/api/v1/catalog/refresh/", {"items": items})
    assert response.status_code == 202
    assert response.json() == {"queued": 3, "already_queued": 1}
    assert RefreshJob.objects.count() == 4
    assert set(RefreshJob.objects.values_list("priority", flat=True)) == {Priority.HIGH}


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"kind": "part", "no": "3001"}, {"kind": "part", "no": "bad no"}], "no"),
        ([{"kind": "sticker", "no": "3001"}], "kind"),
        ([{"kind": "price_guide", "no": "3001"}], "color_id"),
        ([{"kind": "price_guide", "no": "3001", "color_id": -2}], "color_id"),
    ],
)
def test_bulk_refresh_one_invalid_item_rejects_all(member_client, items, field):
    response = member_client.post("/api/v1/catalog/refresh/", {"items": items})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in str(error["details"])
    assert not RefreshJob.objects.exists()


@pytest.mark.parametrize("count", [0, 501])
def test_bulk_refresh_takes_1_to_500_items(member_client, count):
    items = [{"kind": "part", "no": f"p{n}"} for n in range(count)]
    response = member_client.post("/api/v1/catalog/refresh/", {"items": items})
    assert response.status_code == 400
    assert not RefreshJob.objects.exists()


def test_bulk_refresh_of_500_items_is_accepted(member_client):
    items = [{"kind": "part", "no": f"p{n}"} for n in range(500)]
    response = member_client.post("/api/v1/catalog/refresh/", {"items": items})
    assert response.json() == {"queued": 500, "already_queued": 0}


def test_reference_lists_are_paginated(member_client, bricklink_sandbox):
    from catalog.services import reference_sync

    colors, categories = reference_sync()
    page = member_client.get("/api/v1/catalog/colors/", {"page_size": 10}).json()
    assert page["count"] == colors
    assert len(page["results"]) == 10
    assert set(page["results"][0]) == {"color_id", "color_name", "color_code", "color_type"}
    page = member_client.get("/api/v1/catalog/categories/").json()
    assert page["count"] == categories
    assert set(page["results"][0]) == {"category_id", "category_name", "parent_id"}


def test_sync_catalog_reference_command(bricklink_sandbox, capsys):
    from django.core.management import call_command

    call_command("sync_catalog_reference")
    out = capsys.readouterr()
    assert "colors and" in out.out
    assert "reference data" in out.err  # the progress bar


@pytest.mark.parametrize("method", ["read", "refresh"])
def test_a_price_guide_of_a_color_the_part_is_known_not_to_come_in_is_400(
    member_client, fake_clock, method
):
    from datetime import timedelta

    from tests.factories import part_colors

    def ask(color_id):
        if method == "read":
            return member_client.get(f"/api/v1/catalog/parts/3001/price-guide/?color_id={color_id}")
        return member_client.post(
            "/api/v1/catalog/parts/3001/price-guide/refresh/", {"color_id": color_id}
        )

    colors = part_colors("3001", {11: 10, 5: 3}, last_fetched=fake_clock())
    refused = ask(86)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "color_not_known_for_part"
    assert "86" in error["message"]
    assert not RefreshJob.objects.exists()  # no call spent on it
    assert ask(11).status_code in (200, 202)
    # Known colors that are no longer fresh tell nothing: asked for, as before.
    colors.last_fetched = fake_clock() - timedelta(days=45)
    colors.save()
    RefreshJob.objects.all().delete()
    assert ask(86).status_code in (200, 202)


def test_a_bulk_refresh_with_a_color_the_part_is_known_not_to_come_in_queues_nothing(
    member_client, fake_clock
):
    from tests.factories import part_colors

    part_colors("3001", {11: 10}, last_fetched=fake_clock())
    items = [
        {"kind": "part", "no": "3003"},
        {"kind": "price_guide", "no": "3001", "color_id": 11},
        {"kind": "price_guide", "no": "3001", "color_id": 86},
        {"kind": "price_guide", "no": "3004", "color_id": 86},  # known colors unknown: fine
    ]
    response = member_client.post("/api/v1/catalog/refresh/", {"items": items}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "color_not_known_for_part"
    assert [entry["index"] for entry in error["details"]["items"]] == [2]
    assert not RefreshJob.objects.exists()
    del items[2]
    ok = member_client.post("/api/v1/catalog/refresh/", {"items": items}, format="json")
    assert ok.status_code == 202
    assert ok.json() == {"queued": 3, "already_queued": 0}
