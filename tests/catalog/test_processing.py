"""The refresh outbox and its processing, in this process, against the sandbox over HTTP."""

import html
from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.domain import Resource
from catalog.models import (
    JobStatus,
    Kind,
    MissingPart,
    Part,
    PriceGuide,
    Priority,
    RefreshJob,
)
from catalog.services import (
    refresh_cleanup,
    refresh_drain,
    refresh_enqueue,
    refresh_enqueue_stale,
    refresh_process,
    refresh_reclaim_expired,
)
from catalog.work import REFRESHES
from core import clock
from outbox.claims import claim, held
from ratelimit.breaker import breaker_state
from ratelimit.selectors import rate_limit_status
from tests.factories import PartFactory
from tests.policies import set_policy

pytestmark = pytest.mark.django_db

PART = Resource(Kind.PART, "3001")


@pytest.fixture(autouse=True)
def no_publishing(monkeypatch):
    """These tests run jobs themselves: record what would be sent to a worker."""
    from catalog import work as catalog_work

    sent: list[tuple] = []
    monkeypatch.setattr(
        catalog_work, "publish_refresh", lambda *args, **kw: sent.append((args, kw))
    )
    return sent


def enqueue(resource=PART, priority=Priority.HIGH):
    return refresh_enqueue(resource=resource, priority=priority)


def job(result) -> RefreshJob:
    return RefreshJob.objects.get(pk=result.job_id)


def make_due(job_id):
    RefreshJob.objects.filter(pk=job_id).update(next_attempt_at=clock.now())


# --- enqueue -------------------------------------------------------------------------------------


def test_enqueue_dedupes_and_raises_priority():
    low = enqueue(priority=Priority.LOW)
    assert low.created
    normal = enqueue(priority=Priority.NORMAL)
    assert (normal.created, normal.job_id) == (False, low.job_id)
    assert job(low).priority == Priority.NORMAL
    again = enqueue(priority=Priority.LOW)  # never lowered
    assert job(again).priority == Priority.NORMAL
    high = enqueue(priority=Priority.HIGH)
    assert job(high).priority == Priority.HIGH
    assert RefreshJob.objects.count() == 1


def test_enqueue_raise_to_high_skips_a_backoff_and_schedules_processing(
    fake_clock, django_capture_on_commit_callbacks, no_publishing
):
    first = enqueue(priority=Priority.NORMAL)
    RefreshJob.objects.filter(pk=first.job_id).update(
        next_attempt_at=fake_clock() + timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(priority=Priority.HIGH)
    assert job(first).next_attempt_at == fake_clock()
    assert no_publishing == [((first.job_id, Priority.HIGH), {})]


def test_enqueue_after_a_finished_refresh_creates_a_new_row():
    first = enqueue()
    RefreshJob.objects.filter(pk=first.job_id).update(status=JobStatus.SUCCEEDED)
    second = enqueue()
    assert second.created
    assert second.job_id != first.job_id


# --- processing ----------------------------------------------------------------------------------


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


def test_transient_errors_back_off_exponentially_up_to_the_cap_then_fail(
    bricklink_sandbox, settings, fake_clock
):
    set_policy(settings, "refresh", max_attempts=6, retry_cap_seconds=5, retry_jitter_seconds=0.5)
    settings.CATALOG_BREAKER_THRESHOLD = 100
    bricklink_sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    result = enqueue()
    delays = []
    for attempt in range(1, 6):
        assert refresh_process(job_id=result.job_id).outcome == "retrying"
        row = job(result)
        assert row.attempts == attempt
        assert row.status == JobStatus.PENDING
        assert row.last_error["code"] == "transient"
        assert row.last_error["http_status"] == 500
        delays.append((row.next_attempt_at - fake_clock()).total_seconds())
        assert refresh_process(job_id=result.job_id).outcome == "not_claimed"  # not due yet
        fake_clock.current = row.next_attempt_at
    base = [1, 2, 4, 5, 5]  # min(1 s x 2^n, 5 s cap)
    for delay, expected in zip(delays, base, strict=True):
        assert expected <= delay <= expected + 0.5
    assert refresh_process(job_id=result.job_id).outcome == "failed"
    row = job(result)
    assert (row.status, row.attempts) == (JobStatus.FAILED, 6)
    assert row.last_error["message"]
    assert bricklink_sandbox.calls()["total"] == 6


def test_not_found_fails_at_once_and_is_remembered(bricklink_sandbox, owner_client):
    result = enqueue(Resource(Kind.PART, "9999999"))
    assert refresh_process(job_id=result.job_id).outcome == "failed"
    assert job(result).attempts == 0
    assert job(result).last_error["code"] == "not_found"
    assert MissingPart.objects.filter(no="9999999").exists()
    calls = bricklink_sandbox.calls()["total"]
    for path in ("", "colors/", "price-guide/?color_id=11"):
        response = owner_client.get(f"/api/v1/catalog/parts/9999999/{path}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "part_not_found"
    assert bricklink_sandbox.calls()["total"] == calls  # no further calls
    assert not RefreshJob.objects.filter(status__in=["pending", "inflight"]).exists()


def test_auth_error_fails_at_once_as_a_configuration_error(bricklink_sandbox, settings, caplog):
    settings.BRICKLINK_CONSUMER_SECRET = "wrong-secret"
    result = enqueue()
    assert refresh_process(job_id=result.job_id).outcome == "failed"
    assert job(result).last_error["code"] == "auth_error"
    assert "configuration error" in caplog.text
    assert "wrong-secret" not in caplog.text


def test_a_429_stops_every_worker_until_the_retry_time_without_counting_attempts(
    bricklink_sandbox, fake_clock
):
    bricklink_sandbox.control(faults=[{"provider": "bricklink", "http_429": 1, "times": 1}])
    first = enqueue()
    assert refresh_process(job_id=first.job_id).outcome == "deferred"
    row = job(first)
    assert (row.status, row.attempts, row.deferrals) == (JobStatus.PENDING, 0, 1)
    [status] = rate_limit_status(name="bricklink:global")
    assert status.blocked_until is not None
    # Any other refresh, by any worker, is put back without calling BrickLink.
    other = enqueue(Resource(Kind.PART, "3003"))
    calls = bricklink_sandbox.calls()["total"]
    assert refresh_process(job_id=other.job_id).outcome == "deferred"
    assert bricklink_sandbox.calls()["total"] == calls
    assert job(other).attempts == 0
    fake_clock.advance(seconds=3)  # past the sandbox's Retry-After: 2
    make_due(other.job_id)
    assert refresh_process(job_id=other.job_id).outcome == "succeeded"


def test_rate_limit_denial_defers_without_counting_an_attempt(bricklink_sandbox, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:global": {"rules": [{"kind": "fixed_window", "rate": 4, "period": 86400}]},
    }
    guide = enqueue(Resource(Kind.PRICE_GUIDE, "3001", 11))
    part = enqueue()
    assert refresh_process(job_id=guide.job_id).outcome == "succeeded"  # 4 calls
    assert refresh_process(job_id=part.job_id).outcome == "deferred"
    row = job(part)
    assert (row.attempts, row.deferrals, row.status) == (0, 1, JobStatus.PENDING)
    assert row.next_attempt_at > clock.now() + timedelta(hours=1)  # tomorrow's window


def test_low_priority_refreshes_also_take_from_the_background_share(bricklink_sandbox, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:background": {"rules": [{"kind": "fixed_window", "rate": 1, "period": 86400}]},
    }
    first = enqueue(Resource(Kind.PART, "3001"), Priority.LOW)
    second = enqueue(Resource(Kind.PART, "3003"), Priority.LOW)
    user = enqueue(Resource(Kind.PART, "3004"), Priority.HIGH)
    assert refresh_process(job_id=first.job_id).outcome == "succeeded"
    assert refresh_process(job_id=second.job_id).outcome == "deferred"
    assert refresh_process(job_id=user.job_id).outcome == "succeeded"  # users keep the rest


def test_circuit_breaker_opens_defers_then_one_probe_closes_it(
    bricklink_sandbox, settings, fake_clock
):
    settings.CATALOG_BREAKER_THRESHOLD = 3
    settings.CATALOG_BREAKER_COOLDOWN_SECONDS = 60
    bricklink_sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    jobs = [enqueue(Resource(Kind.PART, no)) for no in ("3001", "3003", "3004", "3005")]
    for result in jobs[:3]:
        assert refresh_process(job_id=result.job_id).outcome == "retrying"
    assert breaker_state(name="bricklink").state == "open"
    calls = bricklink_sandbox.calls()["total"]
    assert refresh_process(job_id=jobs[3].job_id).outcome == "deferred"
    assert bricklink_sandbox.calls()["total"] == calls  # open: nobody calls
    assert job(jobs[3]).attempts == 0

    bricklink_sandbox.control(faults=[])  # BrickLink recovers
    fake_clock.advance(seconds=61)
    for result in jobs:
        make_due(result.job_id)
    assert refresh_process(job_id=jobs[3].job_id).outcome == "succeeded"  # the probe
    assert breaker_state(name="bricklink").state == "closed"
    assert refresh_process(job_id=jobs[0].job_id).outcome == "succeeded"


def test_circuit_breaker_probe_failure_opens_it_again(bricklink_sandbox, settings, fake_clock):
    settings.CATALOG_BREAKER_THRESHOLD = 1
    bricklink_sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    first, second = enqueue(), enqueue(Resource(Kind.PART, "3003"))
    refresh_process(job_id=first.job_id)
    assert breaker_state(name="bricklink").state == "open"
    fake_clock.advance(seconds=settings.CATALOG_BREAKER_COOLDOWN_SECONDS + 1)
    make_due(second.job_id)
    assert refresh_process(job_id=second.job_id).outcome == "retrying"  # the probe failed
    breaker = breaker_state(name="bricklink")
    assert breaker.state == "open"
    assert breaker.open_until > fake_clock()


# --- drain, background, cleanup ------------------------------------------------------------------


def test_drain_reclaims_expired_leases_and_dispatches_by_priority_then_age(
    fake_clock, no_publishing
):
    low = enqueue(Resource(Kind.PART, "1"), Priority.LOW)
    fake_clock.advance(seconds=1)
    normal_old = enqueue(Resource(Kind.PART, "2"), Priority.NORMAL)
    fake_clock.advance(seconds=1)
    normal_new = enqueue(Resource(Kind.PART, "3"), Priority.NORMAL)
    dead = enqueue(Resource(Kind.PART, "4"), Priority.HIGH)
    claim(REFRESHES, dead.job_id, now=fake_clock())  # its worker dies
    not_due = enqueue(Resource(Kind.PART, "5"), Priority.HIGH)
    RefreshJob.objects.filter(pk=not_due.job_id).update(
        next_attempt_at=fake_clock() + timedelta(hours=1)
    )
    no_publishing.clear()
    fake_clock.advance(seconds=200)  # past the 180 s lease
    run = refresh_drain(batch_size=10)
    assert run.reclaimed == 1
    assert job(dead).attempts == 1
    order = [args[0] for args, _ in no_publishing]
    assert order == [dead.job_id, normal_old.job_id, normal_new.job_id, low.job_id]
    assert run.dispatched == 4
    # Sent rows are not sent again by the next drain...
    no_publishing.clear()
    assert refresh_drain(batch_size=10).dispatched == 0
    # ...unless they are still pending much later (a lost message).
    fake_clock.advance(seconds=601)
    assert refresh_drain(batch_size=10).dispatched == 4  # the fifth is due in an hour


def test_drain_batch_size_bounds_a_run(fake_clock, no_publishing):
    for n in range(7):
        enqueue(Resource(Kind.PART, f"p{n}"), Priority.LOW)
    assert refresh_drain(batch_size=3).dispatched == 3
    assert refresh_drain(batch_size=3).dispatched == 3
    assert refresh_drain(batch_size=3).dispatched == 1


def test_reclaimed_row_that_keeps_killing_workers_ends_failed(settings, fake_clock):
    set_policy(settings, "refresh", max_attempts=2)
    result = enqueue()
    for _ in range(2):
        make_due(result.job_id)
        claim(REFRESHES, result.job_id, now=fake_clock())
        fake_clock.advance(seconds=REFRESHES.policy.lease_seconds + 1)
        refresh_reclaim_expired()
    row = job(result)
    assert (row.status, row.attempts) == (JobStatus.FAILED, 2)
    assert row.last_error["code"] == "lease_expired"


def test_background_scan_queues_stale_data_oldest_first_within_the_budget(settings, fake_clock):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:background": {"rules": [{"kind": "fixed_window", "rate": 3, "period": 86400}]},
    }
    now = fake_clock()
    for n, age in enumerate((35, 50, 45, 70, 10)):
        PartFactory(no=f"s{n}", last_fetched=now - timedelta(days=age))
    assert refresh_enqueue_stale() == 3
    queued = set(RefreshJob.objects.values_list("no", flat=True))
    assert queued == {"s3", "s1", "s2"}  # 70, 50 and 45 days old; not 35, not the fresh one
    assert set(RefreshJob.objects.values_list("priority", flat=True)) == {Priority.LOW}
    assert refresh_enqueue_stale() == 0  # already queued (and the budget is unchanged)


def test_cleanup_deletes_old_finished_rows_in_batches(fake_clock):
    old = fake_clock() - timedelta(days=8)
    for n in range(25):
        RefreshJob.objects.create(
            kind="part",
            no=f"c{n}",
            resource=f"part:c{n}",
            status=JobStatus.SUCCEEDED if n % 2 else JobStatus.FAILED,
            next_attempt_at=old,
            created_at=old,
            updated_at=old,
            processed_at=old,
        )
    recent = enqueue()
    assert refresh_cleanup(batch=10) == 25
    assert list(RefreshJob.objects.values_list("id", flat=True)) == [recent.job_id]
