"""Reads through the API with a fake clock: the envelope and the read's side effects."""

from datetime import timedelta

import pytest

from catalog.models import JobStatus, MissingPart, Priority, RefreshJob
from tests.factories import PartFactory, part_colors, price_guides

pytestmark = pytest.mark.django_db


def get(client, path, **params):
    response = client.get(f"/api/v1/catalog/parts/{path}", params)
    return response.status_code, response.json()


def test_read_missing_part_enqueues_high_and_says_missing(
    owner_client, fake_clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        status, body = get(owner_client, "3001/")
    assert status == 200
    assert body == {
        "status": "missing",
        "freshness": None,
        "is_refreshing": True,
        "last_fetched": None,
        "data": None,
        "last_error": None,
    }
    [job] = RefreshJob.objects.all()
    assert (job.kind, job.no, job.priority, job.status) == (
        "part",
        "3001",
        Priority.HIGH,
        "pending",
    )
    assert callbacks  # processing is scheduled after commit


@pytest.mark.parametrize(
    ("age_days", "freshness", "priority"),
    [
        (29, "fresh", None),
        (31, "stale", Priority.NORMAL),
        (59, "stale", Priority.NORMAL),
        (61, "expired", Priority.HIGH),
    ],
)
def test_read_side_effect_follows_freshness(
    owner_client, fake_clock, age_days, freshness, priority
):
    PartFactory(no="3001", last_fetched=fake_clock() - timedelta(days=age_days))
    status, body = get(owner_client, "3001/")
    assert status == 200
    assert body["freshness"] == freshness
    assert body["data"]["no"] == "3001"
    jobs = list(RefreshJob.objects.values_list("priority", flat=True))
    if priority is None:
        assert jobs == []
        assert body["status"] == "fresh"
        assert body["is_refreshing"] is False
    else:
        assert jobs == [priority]
        assert body["status"] == "refreshing"  # the envelope reflects the enqueue
        assert body["is_refreshing"] is True


def test_read_is_idempotent_one_row_per_resource(owner_client, fake_clock):
    PartFactory(no="3001", last_fetched=fake_clock() - timedelta(days=40))
    for _ in range(5):
        get(owner_client, "3001/")
        get(owner_client, "3001/colors/")
        get(owner_client, "3001/price-guide/", color_id=11)
        get(owner_client, "3001/price-guide/", color_id=5)
    assert sorted(RefreshJob.objects.values_list("resource", flat=True)) == [
        "part:3001",
        "part_colors:3001",
        "price_guide:3001:11",
        "price_guide:3001:5",
    ]


def test_read_of_expired_data_raises_a_queued_normal_refresh_to_high(owner_client, fake_clock):
    PartFactory(no="3001", last_fetched=fake_clock() - timedelta(days=40))
    get(owner_client, "3001/")
    assert RefreshJob.objects.get().priority == Priority.NORMAL
    fake_clock.advance(days=25)  # now 65 days old: expired
    get(owner_client, "3001/")
    job = RefreshJob.objects.get()
    assert job.priority == Priority.HIGH


def test_read_freshness_boundaries_move_with_the_clock(owner_client, fake_clock):
    PartFactory(no="3001", last_fetched=fake_clock())
    fake_clock.advance(days=29)
    assert get(owner_client, "3001/")[1]["status"] == "fresh"
    fake_clock.advance(days=2)
    assert get(owner_client, "3001/")[1]["freshness"] == "stale"


def test_read_colors_and_price_guide_shapes(owner_client, fake_clock):
    from catalog.models import Color

    Color.objects.create(color_id=11, name="Black", code="05131D", last_fetched=fake_clock())
    part_colors("3001", {11: 420, 5: 12})
    price_guides("3001", 11)
    _, colors = get(owner_client, "3001/colors/")
    assert colors["status"] == "fresh"
    assert colors["data"] == [
        {"color_id": 5, "color_name": None, "color_code": None, "quantity": 12},
        {"color_id": 11, "color_name": "Black", "color_code": "05131D", "quantity": 420},
    ]
    _, guide = get(owner_client, "3001/price-guide/", color_id=11)
    price = {
        "min_price": "0.1000",
        "max_price": "1.0000",
        "avg_price": "0.5000",
        "qty_avg_price": "0.4500",
        "unit_quantity": 10,
        "total_quantity": 100,
    }
    assert guide["data"] == {
        "color_id": 11,
        "currency_code": "USD",
        "new": {"stock": price, "sold": price},
        "used": {"stock": price, "sold": price},
    }
    assert guide["last_fetched"].endswith("Z")


def test_read_part_not_found_is_404_for_seven_days_without_enqueueing(owner_client, fake_clock):
    MissingPart.objects.create(no="9999999", confirmed_at=fake_clock())
    for path in ("9999999/", "9999999/colors/"):
        status, body = get(owner_client, path)
        assert status == 404
        assert body["error"]["code"] == "part_not_found"
    assert not RefreshJob.objects.exists()
    fake_clock.advance(days=7, seconds=1)
    status, body = get(owner_client, "9999999/")
    assert status == 200
    assert body["status"] == "missing"  # asked again after the 7 days


def test_read_serves_last_known_good_beside_the_last_error(owner_client, fake_clock):
    PartFactory(no="3001", name="Brick 2 x 4", last_fetched=fake_clock() - timedelta(days=70))
    error = {
        "code": "transient",
        "message": "HTTP 500",
        "at": "2026-11-20T09:00:00Z",
        "http_status": 500,
        "meta_code": None,
        "provider": "bricklink",
    }
    RefreshJob.objects.create(
        kind="part",
        no="3001",
        resource="part:3001",
        status=JobStatus.FAILED,
        attempts=5,
        last_error=error,
        next_attempt_at=fake_clock(),
        created_at=fake_clock(),
        updated_at=fake_clock(),
        processed_at=fake_clock(),
    )
    status, body = get(owner_client, "3001/")
    assert status == 200
    assert body["data"]["name"] == "Brick 2 x 4"
    assert body["freshness"] == "expired"
    assert body["status"] == "refreshing"  # and a new refresh was queued
    assert body["last_error"] == {
        "code": "transient",
        "message": "HTTP 500",
        "at": "2026-11-20T09:00:00Z",
    }


@pytest.mark.parametrize(
    "path", ["-bad/", "a" * 41 + "/", "30%2001/", "x%00y/", "3001$/", ".hidden/"]
)
def test_read_invalid_part_number_is_400_and_creates_nothing(owner_client, path):
    status, body = get(owner_client, path)
    assert status == 400
    assert body["error"]["code"] == "invalid_part_number"
    assert not RefreshJob.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"color_id": "x"},
        {"color_id": -1},
        {"color_id": 11, "wait": 0},
        {"color_id": 11, "wait": 11},
        {"color_id": 11, "wait": "soon"},
    ],
)
def test_read_price_guide_query_is_validated(owner_client, params):
    status, body = get(owner_client, "3001/price-guide/", **params)
    assert status == 400
    assert body["error"]["code"] == "validation_error"
    assert not RefreshJob.objects.exists()


def test_read_fresh_envelope_is_cached_and_a_refresh_drops_it(
    owner_client, fake_clock, django_capture_on_commit_callbacks, monkeypatch
):
    from catalog import work as catalog_work
    from core.metrics import CATALOG_CACHE

    monkeypatch.setattr(
        catalog_work, "publish_refresh", lambda *args, **kwargs: None
    )  # no worker here

    hits = CATALOG_CACHE.labels(result="hit")
    PartFactory(no="3001", last_fetched=fake_clock())
    before = hits._value.get()
    get(owner_client, "3001/")
    get(owner_client, "3001/")
    assert hits._value.get() == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post("/api/v1/catalog/parts/3001/refresh/")
    _, body = get(owner_client, "3001/")
    assert body["is_refreshing"] is True  # not the cached envelope


def test_catalog_needs_authentication(api_client):
    assert api_client.get("/api/v1/catalog/parts/3001/").status_code == 401


def test_a_refresh_landing_between_a_reads_queries_does_not_enqueue_a_second(
    owner_client, fake_clock, monkeypatch
):
    """The refresh commits its data and its "succeeded" together, just after the read loaded
    the (still missing) data. The read must not take the finished job for "never queued"."""
    from catalog.services import reads

    get(owner_client, "3001/")
    job = RefreshJob.objects.get()
    load = reads.resource_data

    def load_then_the_refresh_lands(resource):
        loaded = load(resource)
        PartFactory(no="3001", last_fetched=fake_clock())
        RefreshJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
        return loaded

    monkeypatch.setattr(reads, "resource_data", load_then_the_refresh_lands)
    status, body = get(owner_client, "3001/")
    assert status == 200
    assert (body["status"], body["is_refreshing"]) == ("missing", True)  # what it saw
    assert list(RefreshJob.objects.values_list("status", flat=True)) == [JobStatus.SUCCEEDED]
