"""The admin as queue monitor: each action's effect, the filters, the dashboard's figures."""

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog import services
from catalog import work as catalog_work
from catalog.models import DrainRun, JobStatus, Priority, RefreshJob
from catalog.services import process
from core import clock
from core.paginator import EstimatedCountPaginator
from inventory.models import SyncState
from marketplaces.errors import NotFound
from ratelimit.models import CircuitBreaker
from tests.factories import MarketplaceConnectionFactory, SyncStateFactory

pytestmark = pytest.mark.django_db

OUTBOX = "admin:catalog_refreshjob_changelist"


@pytest.fixture
def sent(monkeypatch):
    """What would go to the workers (no worker runs here); after commit, as in production."""
    published = []
    monkeypatch.setattr(
        catalog_work,
        "publish_refresh",
        lambda job_id, priority, countdown=None: published.append((job_id, priority)),
    )
    return published


def job(
    no="3001",
    *,
    status=JobStatus.PENDING,
    priority=Priority.NORMAL,
    attempts=0,
    error=None,
    due_in=timedelta(0),
    age=timedelta(0),
):
    now = clock.now()
    return RefreshJob.objects.create(
        kind="part",
        no=no,
        resource=f"part:{no}",
        status=status,
        priority=priority,
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + due_in,
        created_at=now - age,
        updated_at=now,
        processed_at=now if status in ("succeeded", "failed") else None,
    )


def act(client, action, rows, *, url=OUTBOX, captured=None):
    data = {"action": action, ACTION_CHECKBOX_NAME: [row.pk for row in rows]}
    if captured is not None:
        with captured(execute=True):
            return client.post(reverse(url), data, follow=True)
    return client.post(reverse(url), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


ERROR = {"code": "transient", "message": "HTTP 500", "at": "2026-11-23T10:00:00Z"}


def test_retry_now_revives_a_failed_row_and_sends_it(
    admin_client, sent, django_capture_on_commit_callbacks
):
    failed = job(status=JobStatus.FAILED, attempts=6, error=ERROR)
    response = act(admin_client, "retry_now", [failed], captured=django_capture_on_commit_callbacks)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.processed_at) == ("pending", 0, None)
    assert failed.next_attempt_at <= clock.now()
    assert failed.last_error == ERROR  # the history of why it failed stays visible
    assert sent == [(failed.pk, Priority.NORMAL)]
    assert messages_of(response) == ["1 row(s) sent to the workers now."]


def test_retry_now_skips_rows_in_flight_and_resources_already_queued(admin_client, sent):
    inflight = job("3001", status=JobStatus.INFLIGHT)
    old = job("3002", status=JobStatus.FAILED, attempts=6, error=ERROR)
    job("3002")  # a newer refresh of 3002 is already pending
    response = act(admin_client, "retry_now", [inflight, old])
    assert RefreshJob.objects.get(pk=inflight.pk).status == "inflight"
    assert RefreshJob.objects.get(pk=old.pk).status == "failed"
    assert messages_of(response) == [
        "0 row(s) sent to the workers now. 2 skipped (in flight, or already queued)."
    ]


def test_retry_now_skips_the_backoff_of_a_pending_row(admin_client, sent):
    waiting = job(due_in=timedelta(minutes=4), error=ERROR, attempts=2)
    act(admin_client, "retry_now", [waiting])
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= clock.now()
    assert waiting.attempts == 2  # a pending row keeps its count


def test_raise_to_high_moves_only_pending_rows(
    admin_client, sent, django_capture_on_commit_callbacks
):
    low = job("3001", priority=Priority.LOW, due_in=timedelta(minutes=10))
    done = job("3002", status=JobStatus.SUCCEEDED, priority=Priority.LOW)
    response = act(
        admin_client, "raise_to_high", [low, done], captured=django_capture_on_commit_callbacks
    )
    low.refresh_from_db()
    assert (low.priority, low.next_attempt_at <= clock.now()) == (Priority.HIGH, True)
    assert RefreshJob.objects.get(pk=done.pk).priority == Priority.LOW
    assert sent == [(low.pk, Priority.HIGH)]
    assert messages_of(response) == ["1 pending row(s) raised to HIGH."]


def test_mark_failed_gives_up_active_rows_and_fences_out_a_running_worker(admin_client):
    pending = job("3001")
    inflight = job("3002", status=JobStatus.INFLIGHT)
    done = job("3003", status=JobStatus.SUCCEEDED)
    response = act(admin_client, "mark_failed", [pending, inflight, done])
    for row in (pending, inflight):
        row.refresh_from_db()
        assert row.status == "failed"
        assert row.claim_token is None
        assert row.last_error["code"] == "marked_failed"
        assert "admin" in row.last_error["message"]
    assert RefreshJob.objects.get(pk=done.pk).status == "succeeded"
    assert messages_of(response) == ["2 pending or in-flight row(s) marked failed."]


def test_drain_now_runs_without_a_selection_and_records_the_run(admin_client, sent):
    due = job(due_in=-timedelta(minutes=1))
    response = admin_client.post(reverse(OUTBOX), {"action": "drain_now"}, follow=True)
    [run] = DrainRun.objects.all()
    assert run.dispatched == 1
    assert sent == [(due.pk, Priority.NORMAL)]
    assert RefreshJob.objects.get(pk=due.pk).drain_run_id == run.pk
    assert messages_of(response)[0].startswith("Drain ran in ")


def test_a_drain_run_counts_what_became_of_the_rows_it_sent(sent, monkeypatch):
    ok, bad = job("3001", due_in=-timedelta(seconds=1)), job("3002", due_in=-timedelta(seconds=1))
    run = services.refresh_drain()

    def fetch(resource, known):
        if resource.no == "3002":
            raise NotFound("no such item", provider="bricklink")
        return object()

    monkeypatch.setattr(process, "fetch", fetch)
    monkeypatch.setattr(process, "upsert", lambda *args: None)
    assert services.refresh_process(job_id=ok.pk).outcome == "succeeded"
    assert services.refresh_process(job_id=bad.pk).outcome == "failed"
    run.refresh_from_db()
    assert (run.dispatched, run.succeeded, run.failed, run.deferred) == (2, 1, 1, 0)


def test_actions_need_the_change_permission(client, django_user_model, sent):
    viewer = django_user_model.objects.create_user(
        "viewer", password="pw-123-viewer", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_refreshjob"))
    client.force_login(viewer)
    failed = job(status=JobStatus.FAILED, attempts=6, error=ERROR)
    page = client.get(reverse(OUTBOX))
    assert page.status_code == 200
    assert "retry_now" not in page.content.decode()
    client.post(reverse(OUTBOX), {"action": "retry_now", ACTION_CHECKBOX_NAME: [failed.pk]})
    assert RefreshJob.objects.get(pk=failed.pk).status == "failed"
    assert client.post(reverse("admin:queue_drain")).status_code == 403
    assert not DrainRun.objects.exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("overdue=yes", {"3001"}),
        ("has_error=yes", {"3002"}),
        ("has_error=no", {"3001", "3003"}),
        ("q=3003", {"3003"}),
        ("status__exact=failed", {"3002"}),
    ],
)
def test_outbox_filters_and_search(admin_client, query, expected):
    job("3001", due_in=-timedelta(minutes=6))  # should have run six minutes ago
    job("3002", status=JobStatus.FAILED, error=ERROR)
    job("3003", due_in=-timedelta(minutes=1))  # due a minute ago: not overdue yet
    response = admin_client.get(reverse(OUTBOX) + "?" + query)
    assert response.status_code == 200
    assert {row.no for row in response.context["cl"].result_list} == expected


def test_outbox_list_is_one_page_query_without_a_full_count(
    admin_client, django_assert_max_num_queries
):
    for n in range(30):
        job(str(4000 + n))
    with django_assert_max_num_queries(8):  # session, user, filters' count, page: no N+1
        response = admin_client.get(reverse(OUTBOX))
    assert response.context["cl"].show_full_result_count is False
    assert len(response.context["cl"].result_list) == 30


def test_the_paginator_estimates_an_unfiltered_big_table(monkeypatch):
    from core import paginator

    monkeypatch.setattr(paginator, "row_estimate", lambda queryset: 1_000_000)
    assert EstimatedCountPaginator(RefreshJob.objects.all(), 100).count == 1_000_000
    job()  # a filtered list is counted exactly
    assert EstimatedCountPaginator(RefreshJob.objects.filter(status="pending"), 100).count == 1
    monkeypatch.setattr(paginator, "row_estimate", lambda queryset: 50)  # small: exact
    assert EstimatedCountPaginator(RefreshJob.objects.all(), 100).count == 1


def test_the_estimate_reads_postgresqls_statistics():
    from core.paginator import row_estimate

    for n in range(5):
        job(str(5000 + n))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {RefreshJob._meta.db_table}")
    assert row_estimate(RefreshJob.objects.all()) == 5


def test_dashboard_shows_the_queue_the_quota_the_breakers_and_the_drain(admin_client, sent):
    job("3001", age=timedelta(minutes=10), due_in=-timedelta(minutes=10))
    job("3002", status=JobStatus.FAILED, error=ERROR)
    job("3003", status=JobStatus.SUCCEEDED)
    CircuitBreaker.objects.create(
        name="bricklink",
        state="open",
        consecutive_failures=5,
        open_until=clock.now() + timedelta(minutes=1),
        updated_at=clock.now(),
    )
    SyncStateFactory(status="failed", provider="brickowl")
    services.refresh_drain()
    response = admin_client.get(reverse("admin:queue_dashboard"))
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.totals == {"pending": 1, "inflight": 0, "succeeded": 1, "failed": 1}
    assert overview.counts["part"]["failed"] == 1
    assert 600 <= overview.oldest_pending_seconds < 660
    assert overview.overdue == 1
    assert (overview.succeeded_last_hour, overview.failed_last_day) == (1, 1)
    assert overview.drain_runs[0].dispatched == 1
    assert overview.seconds_since_drain is not None
    assert overview.syncs["brickowl"]["failed"] == 1
    assert {limit.name for limit in overview.limits} >= {"bricklink:global"}
    page = response.content.decode()
    for text in (
        "Refresh outbox",
        "Rate limits",
        "bricklink:global",
        "open",
        "Last drain runs",
        "Drain now",
        "Inventory syncs",
    ):
        assert text in page
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:queue_dashboard") in index


def work_row(page: str, kind: str) -> dict[str, str]:
    """The dashboard's figures of one kind of work as shown: figure or status -> its text."""
    row = re.search(rf'<tr [^>]*id="work-{kind}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'data-(?:figure|status)="([a-z-]+)">(.*?)</(?:td|span)>', row, re.S)
    return {name: " ".join(re.sub(r"<[^>]+>|&nbsp;", " ", text).split()) for name, text in cells}


def test_dashboard_shows_the_inventory_syncs_with_the_figures_refreshes_have(admin_client):
    now = clock.now()

    def sync(status="syncing", *, due_ago=timedelta(0), lease=None, **fields):
        if lease is not None:
            fields.update(claim_token=uuid.uuid4(), lease_expires_at=now + lease)
        SyncStateFactory(status=status, next_attempt_at=now - due_ago, **fields)

    sync(due_ago=timedelta(minutes=10))  # overdue
    sync(due_ago=timedelta(seconds=5))  # due
    sync(lease=timedelta(seconds=30))  # a worker holds it
    sync(lease=-timedelta(seconds=1))  # its worker is gone
    sync("failed", provider="brickowl")
    job("3001", due_in=-timedelta(minutes=6))  # an overdue refresh

    response = admin_client.get(reverse("admin:queue_dashboard"))
    syncs = response.context["overview"].work["inventory_sync"]
    assert syncs.statuses == {"disabled": 0, "pending": 0, "syncing": 4, "synced": 0, "failed": 1}
    assert (syncs.due, syncs.overdue, syncs.in_flight, syncs.lease_expired) == (2, 1, 2, 1)
    assert 600 <= syncs.oldest_due_seconds < 660
    refreshes = response.context["overview"].work["refresh"]
    assert (refreshes.due, refreshes.overdue, refreshes.in_flight) == (1, 1, 0)

    page = response.content.decode()
    assert "Background work, every kind" in page
    shown = work_row(page, "inventory_sync")
    figures = ("syncing", "failed", "pending", "due", "overdue", "in-flight", "lease-expired")
    assert [shown[name] for name in figures] == [
        *("syncing 4", "failed 1", "pending 0"),
        *("2", "1", "2", "1"),
    ]
    assert re.fullmatch(r"6\d\d s", shown["oldest-due"])
    shown = work_row(page, "refresh")
    assert [shown[name] for name in ("pending", "overdue", "in-flight")] == ["pending 1", "1", "0"]


def test_dashboard_drain_button_drains(admin_client, sent):
    due = job(due_in=-timedelta(minutes=1))
    response = admin_client.post(reverse("admin:queue_drain"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:queue_dashboard")
    assert DrainRun.objects.get().dispatched == 1
    assert sent == [(due.pk, Priority.NORMAL)]


def test_sync_again_on_failed_inventory_syncs(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    from inventory import work as inventory_work

    published = []
    monkeypatch.setattr(inventory_work, "publish_sync", lambda *args: published.append(args))
    error = {"code": "invalid", "message": "BrickLink said no"}
    state = SyncStateFactory(status="failed", attempts=6, last_error=error)
    MarketplaceConnectionFactory(account=state.item.account, provider="bricklink")
    failed_list = admin_client.get(
        reverse("admin:inventory_syncstate_changelist") + "?status__exact=failed"
    )
    assert "invalid: BrickLink said no" in failed_list.content.decode()
    response = act(
        admin_client,
        "sync_again",
        [state],
        url="admin:inventory_syncstate_changelist",
        captured=django_capture_on_commit_callbacks,
    )
    state = SyncState.objects.get(pk=state.pk)
    assert (state.status, state.attempts) == ("syncing", 0)
    assert published == [(state.item_id, "bricklink")]
    assert messages_of(response) == ["1 item(s) are being synced again."]


def test_beat_schedules_are_in_the_admin_and_editable(admin_client):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("setup_schedules", verbosity=0)
    task = PeriodicTask.objects.get(task="catalog.drain")
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    assert page.status_code == 200
    assert b'name="enabled"' in page.content  # a form, not a read-only page
