"""Processing refreshes, in this process, against the sandbox over HTTP: the data stored,
idempotency, claim fencing and resumable price guides."""

import html
from decimal import Decimal

import pytest

from catalog.domain import Resource
from catalog.models import (
    JobStatus,
    Kind,
    Part,
    PriceGuide,
    RefreshJob,
)
from catalog.services import (
    refresh_process,
    refresh_reclaim_expired,
)
from catalog.work import REFRESHES
from outbox.claims import claim, held
from ratelimit.selectors import rate_limit_status
from tests.catalog.refresh_helpers import enqueue, job
from tests.policies import set_policy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_publishing")]


def test_process_part_maps_every_field(bricklink_sandbox, sandbox_catalog, owner_client):
    items = {
        "plain": sandbox_catalog.item("PART", "3001"),
        "entities": sandbox_catalog.item("PART", sandbox_catalog.part_with_entities()),
        "printed": sandbox_catalog.item("PART", "3001pr0001"),
        "obsolete": sandbox_catalog.item("PART", "3062a"),
        "alternate": sandbox_catalog.item("PART", "4073"),
        "set": sandbox_catalog.item("SET", "10030-1"),
    }
    for item in items.values():
        result = enqueue(Resource(Kind.PART, item.no))
        assert refresh_process(job_id=result.job_id).outcome == "succeeded"
        data = owner_client.get(f"/api/v1/catalog/parts/{item.no}/").json()["data"]
        payload = item.bricklink_payload()
        assert data == {
            "no": item.no,
            "name": html.unescape(payload["name"]),
            "type": item.type,
            "category_id": payload["category_id"],
            "category_name": None,  # reference data not synced in this test
            "image_url": "https:" + payload["image_url"],
            "thumbnail_url": "https:" + payload["thumbnail_url"],
            "weight_g": str(Decimal(payload["weight"]).quantize(Decimal("0.001"))),
            "dim_x": payload["dim_x"],
            "dim_y": payload["dim_y"],
            "dim_z": payload["dim_z"],
            "year_released": payload["year_released"],
            "is_obsolete": payload["is_obsolete"],
            "is_printed": item.is_printed,
            "alternate_no": payload["alternate_no"],
            "description": payload["description"],
        }
    assert "&" not in Part.objects.get(no=items["entities"].no).name.replace("&amp;", "")
    assert Part.objects.get(no="3001pr0001").is_printed
    assert Part.objects.get(no="3062a").is_obsolete


def test_process_part_colors_and_price_guide(bricklink_sandbox, sandbox_catalog, owner_client):
    from catalog.services import reference_sync

    reference_sync()
    item = sandbox_catalog.item("PART", "3001")
    result = enqueue(Resource(Kind.PART_COLORS, "3001"))
    assert refresh_process(job_id=result.job_id).outcome == "succeeded"
    colors = owner_client.get("/api/v1/catalog/parts/3001/colors/").json()["data"]
    assert [(c["color_id"], c["quantity"]) for c in colors] == sorted(item.colors)
    assert all(c["color_name"] and len(c["color_code"]) == 6 for c in colors if c["color_id"])

    color_id = item.color_ids[0]
    result = enqueue(Resource(Kind.PRICE_GUIDE, "3001", color_id))
    assert refresh_process(job_id=result.job_id).outcome == "succeeded"
    guide = owner_client.get(
        "/api/v1/catalog/parts/3001/price-guide/", {"color_id": color_id}
    ).json()
    assert guide["status"] == "fresh"
    calls = bricklink_sandbox.calls()["by_resource"]
    for condition, key in (("N", "new"), ("U", "used")):
        for guide_type in ("stock", "sold"):
            resource = (
                f"GET /bricklink/items/PART/3001/price?color_id={color_id}"
                f"&guide_type={guide_type}&new_or_used={condition}"
            )
            assert calls[resource] == 1
            price = guide["data"][key][guide_type]
            assert set(price) == {
                "min_price",
                "max_price",
                "avg_price",
                "qty_avg_price",
                "unit_quantity",
                "total_quantity",
            }
            assert Decimal(price["min_price"]) <= Decimal(price["avg_price"])
            assert price["avg_price"].count(".") == 1
            assert len(price["avg_price"].split(".")[1]) == 4


def test_process_is_idempotent_a_second_message_does_nothing(bricklink_sandbox):
    result = enqueue()
    assert refresh_process(job_id=result.job_id).outcome == "succeeded"
    assert refresh_process(job_id=result.job_id).outcome == "not_claimed"
    assert bricklink_sandbox.calls()["by_endpoint"]["GET /bricklink/items/{type}/{no}"] == 1


def test_claim_fencing_an_old_claim_cannot_complete_a_reclaimed_row(bricklink_sandbox, fake_clock):
    result = enqueue()
    old = claim(REFRESHES, result.job_id, now=fake_clock())
    assert old is not None
    fake_clock.advance(seconds=REFRESHES.policy.lease_seconds + 1)
    assert refresh_reclaim_expired() == 1
    assert job(result).status == JobStatus.PENDING
    # The new holder runs it to the end...
    assert refresh_process(job_id=result.job_id).outcome == "succeeded"
    # ...and the old holder, back from the dead, changes nothing.
    assert held(old).update(status=JobStatus.FAILED) == 0
    assert job(result).status == JobStatus.SUCCEEDED


def test_process_after_its_lease_was_reclaimed_drops_its_result(bricklink_sandbox, monkeypatch):
    from catalog.services import process

    result = enqueue()
    real_fetch = process.fetch

    def slow_fetch(resource, known):
        # While this worker was away, its lease expired and another claim took the row.
        RefreshJob.objects.filter(pk=result.job_id).update(claim_token=None, status="pending")
        return real_fetch(resource, known)

    monkeypatch.setattr(process, "fetch", slow_fetch)
    assert refresh_process(job_id=result.job_id).outcome == "lost_claim"
    assert not Part.objects.filter(no="3001").exists()


def test_a_price_guide_retry_asks_only_for_the_parts_it_has_not_got(bricklink_sandbox, fake_clock):
    """The third of a price guide's four calls fails: the two fetched are kept, nothing is
    stored, and the retry takes two tokens and makes only the two missing calls. The four
    rows are then stored together, by one upsert."""
    price = "GET /bricklink/items/{type}/{no}/price"
    result = enqueue(Resource(Kind.PRICE_GUIDE, "3001", 11))
    bricklink_sandbox.control(
        faults=[
            {"provider": "bricklink", "path": "/price$", "error_500": 1, "after": 2, "times": 1},
        ]
    )

    def tokens_used() -> int:
        [status] = rate_limit_status(name="bricklink:global")
        return status.rules[0].used

    tokens = tokens_used()
    assert refresh_process(job_id=result.job_id).outcome == "retrying"
    row = job(result)
    assert sorted(row.partial) == ["N:sold", "N:stock"]
    assert not PriceGuide.objects.filter(no="3001").exists()  # nothing half-written
    assert bricklink_sandbox.calls()["by_endpoint"][price] == 3

    fake_clock.advance(seconds=60)
    assert refresh_process(job_id=result.job_id).outcome == "succeeded"
    assert bricklink_sandbox.calls()["by_endpoint"][price] == 5  # U:stock and U:sold only
    assert tokens_used() == tokens + 4 + 2
    assert job(result).partial is None
    rows = PriceGuide.objects.filter(no="3001", color_id=11)
    assert rows.count() == 4
    assert {r.last_fetched for r in rows} == {fake_clock()}  # one upsert
    n_stock = rows.get(new_or_used="N", guide_type="stock")
    assert isinstance(n_stock.avg_price, Decimal)
    assert n_stock.avg_price > 0


def test_a_price_guide_that_fails_for_good_forgets_its_parts(bricklink_sandbox, settings):
    set_policy(settings, "refresh", max_attempts=1)
    result = enqueue(Resource(Kind.PRICE_GUIDE, "3001", 11))
    bricklink_sandbox.control(
        faults=[
            {"provider": "bricklink", "path": "/price$", "error_500": 1, "after": 1},
        ]
    )
    assert refresh_process(job_id=result.job_id).outcome == "failed"
    assert job(result).partial is None  # a later "retry now" starts afresh
