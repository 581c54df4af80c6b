"""The refresh outbox: enqueueing, draining, the background scan and cleanup."""

from datetime import timedelta

import pytest

from catalog.domain import Resource
from catalog.models import (
    JobStatus,
    Kind,
    Priority,
    RefreshJob,
)
from catalog.services import (
    refresh_cleanup,
    refresh_drain,
    refresh_enqueue_stale,
    refresh_reclaim_expired,
)
from catalog.work import REFRESHES
from outbox.claims import claim
from tests.catalog.refresh_helpers import enqueue, job, make_due
from tests.factories import PartFactory
from tests.policies import set_policy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_publishing")]


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
