"""How each kind of background work stands (outbox/selectors.py): the same figures for every
kind registered, read in one query per kind."""

import uuid
from datetime import timedelta

import pytest

from catalog.models import JobStatus, RefreshJob
from catalog.work import REFRESHES
from inventory.models import SyncStatus
from inventory.work import SYNCS
from outbox.selectors import work_figures, work_overview, work_statuses
from outbox.sweep import registered_work
from tests.factories import SyncStateFactory

pytestmark = pytest.mark.django_db


def sync(now, status, *, due_ago=None, provider="bricklink", lease=None, **fields):
    if lease is not None:
        fields.update(claim_token=uuid.uuid4(), lease_expires_at=now + lease)
    due = None if due_ago is None else now - due_ago
    return SyncStateFactory(status=status, provider=provider, next_attempt_at=due, **fields)


def refresh(now, no, status, *, due_ago=timedelta(0), kind="part", lease=None):
    held = {} if lease is None else {"claim_token": uuid.uuid4(), "lease_expires_at": now + lease}
    return RefreshJob.objects.create(
        kind=kind,
        no=no,
        resource=f"{kind}:{no}",
        status=status,
        next_attempt_at=now - due_ago,
        created_at=now - timedelta(hours=1),
        updated_at=now,
        **held,
    )


def test_sync_figures_tell_due_overdue_waiting_and_held_rows_apart(fake_clock):
    now = fake_clock()
    sync(now, SyncStatus.SYNCING, due_ago=timedelta(minutes=6))  # overdue
    sync(now, SyncStatus.SYNCING, due_ago=timedelta(seconds=30), provider="brickowl")  # due
    sync(now, SyncStatus.SYNCING, due_ago=-timedelta(minutes=2))  # backing off
    sync(now, SyncStatus.SYNCING, due_ago=timedelta(hours=1), lease=timedelta(seconds=20))
    sync(now, SyncStatus.SYNCING, due_ago=timedelta(hours=1), lease=-timedelta(seconds=1))
    sync(now, SyncStatus.SYNCED)
    sync(now, SyncStatus.FAILED, due_ago=timedelta(hours=2))  # given up: never due
    figures = work_figures(SYNCS, now=now, split_by="provider")
    assert figures.kind == "inventory_sync"
    assert figures.statuses == {
        "disabled": 0,
        "pending": 0,
        "syncing": 5,
        "synced": 1,
        "failed": 1,
    }
    assert figures.total == 7
    assert (figures.due, figures.overdue, figures.oldest_due_seconds) == (2, 1, 360)
    assert (figures.in_flight, figures.lease_expired) == (2, 1)
    assert figures.split["brickowl"] == dict(figures.statuses, syncing=1, synced=0, failed=0)
    assert figures.split["bricklink"]["syncing"] == 4


def test_a_row_with_no_due_time_has_been_due_since_it_last_changed(fake_clock):
    now = fake_clock()
    # What a claim takes at once: an active row that never had a next attempt.
    sync(now, SyncStatus.PENDING, updated_at=now - timedelta(minutes=8))
    figures = work_figures(SYNCS, now=now)
    assert (figures.due, figures.overdue, figures.oldest_due_seconds) == (1, 1, 480)
    assert figures.split == {}  # not asked for


def test_refresh_figures_split_by_kind_and_none_due(fake_clock):
    now = fake_clock()
    refresh(now, "1", JobStatus.PENDING, due_ago=-timedelta(minutes=1))  # not due yet
    refresh(now, "2", JobStatus.INFLIGHT, lease=timedelta(seconds=30))
    refresh(now, "3", JobStatus.SUCCEEDED, kind="part_colors")
    figures = work_figures(REFRESHES, now=now, split_by="kind")
    assert figures.statuses == {"pending": 1, "inflight": 1, "succeeded": 1, "failed": 0}
    assert (figures.due, figures.overdue, figures.oldest_due_seconds) == (0, 0, None)
    assert (figures.in_flight, figures.lease_expired) == (1, 0)
    assert figures.split == {
        "part": {"pending": 1, "inflight": 1, "succeeded": 0, "failed": 0},
        "part_colors": {"pending": 0, "inflight": 0, "succeeded": 1, "failed": 0},
    }


def test_the_overview_reads_every_kind_registered_in_one_query_each(
    fake_clock, django_assert_num_queries
):
    now = fake_clock()
    sync(now, SyncStatus.SYNCING, due_ago=timedelta(minutes=1))
    refresh(now, "1", JobStatus.PENDING, due_ago=timedelta(minutes=10))
    kinds = [work.kind for work in registered_work()]
    with django_assert_num_queries(len(kinds)):
        overview = work_overview(now=now)
    assert list(overview) == kinds
    assert {"refresh", "inventory_sync"} <= set(kinds)
    assert overview["refresh"].overdue == 1
    assert overview["inventory_sync"].due == 1
    for work in registered_work():
        assert list(overview[work.kind].statuses) == work_statuses(work)
