"""Processing refreshes when BrickLink fails, in this process, against the sandbox over
HTTP: back-off, permanent errors, 429s, rate limits and the circuit breaker."""

from datetime import timedelta

import pytest

from catalog.domain import Resource
from catalog.models import (
    JobStatus,
    Kind,
    MissingPart,
    Priority,
    RefreshJob,
)
from catalog.services import (
    refresh_process,
)
from core import clock
from ratelimit.breaker import breaker_state
from ratelimit.selectors import rate_limit_status
from tests.catalog.refresh_helpers import enqueue, job, make_due
from tests.policies import set_policy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_publishing")]


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
