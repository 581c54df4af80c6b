"""/metrics end to end: a real worker process counts what it does in files of its own, and the
web process adds them up beside the gauges read from the database."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.domain import Resource
from catalog.models import JobStatus, Kind, Priority, RefreshJob
from catalog.services import refresh_drain, refresh_enqueue, refresh_mark_failed
from core import clock
from core.metrics import REFRESHES
from inventory.models import MarketplaceConnection, Provider, SyncState, SyncStatus
from inventory.services import item_create
from ratelimit.services import rate_limit_exhaust_until
from tests.core.test_metrics import scrape
from tests.factories import AccountFactory, MembershipFactory, PartFactory
from tests.harness import SandboxProcess, wait_for


def connect(account) -> None:
    for provider, credentials in (
        (Provider.BRICKLINK, SandboxProcess.BRICKLINK_CREDENTIALS),
        (Provider.BRICKOWL, {"api_key": SandboxProcess.BRICKOWL_KEY}),
    ):
        MarketplaceConnection.objects.create(
            account=account,
            provider=provider,
            enabled=True,
            credentials=credentials,
            updated_at=clock.now(),
        )


@pytest.mark.worker
def test_metrics_count_what_worker_processes_do(worker, sandbox, client, client_for, settings):
    api = client_for(MembershipFactory(role="member").user)
    in_this_process = REFRESHES.labels(kind="part", outcome="succeeded")._value.get()
    before = scrape(client)

    # A refresh through the worker, then two reads of the fresh part: a miss, then a hit.
    done = refresh_enqueue(resource=Resource(Kind.PART, "3001"), priority=Priority.HIGH)
    wait_for(
        lambda: RefreshJob.objects.get(pk=done.job_id).status == JobStatus.SUCCEEDED,
        message="the refresh to land",
    )
    assert api.get("/api/v1/catalog/parts/3001/").status_code == 200
    assert api.get("/api/v1/catalog/parts/3001/").status_code == 200

    # BrickLink answers only 500s: the refresh fails and is put back for a retry; a read
    # meanwhile gets the stored data beside the error (last-known-good).
    PartFactory(no="3002", name="Brick 2 x 3", last_fetched=clock.now() - timedelta(days=90))
    sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    failing = refresh_enqueue(resource=Resource(Kind.PART, "3002"), priority=Priority.HIGH)
    wait_for(
        lambda: RefreshJob.objects.get(pk=failing.job_id).attempts >= 1,
        message="a failed attempt",
    )
    body = api.get("/api/v1/catalog/parts/3002/").json()
    assert body["last_error"]["code"] == "transient"
    refresh_mark_failed(job_ids=[failing.job_id], by="the test")  # no more retries
    sandbox.control(faults=[])

    # An inventory sync whose account limit says "not now" (a 429 seen a moment ago): the
    # BrickLink sync is denied, put back, and synced a second later; BrickOwl syncs at once.
    account = AccountFactory()
    connect(account)
    rate_limit_exhaust_until(name="bricklink:account", key=str(account.id), retry_after=1.0)
    owner = MembershipFactory(account=account, role="owner").user
    item = item_create(
        account=account,
        actor=owner,
        data={
            "part_number": "3001",
            "color_id": 11,
            "condition": "new",
            "quantity_available": 5,
            "price": Decimal("0.1250"),
        },
    )
    wait_for(
        lambda: (
            set(SyncState.objects.filter(item=item).values_list("status", flat=True))
            == {SyncStatus.SYNCED}
        ),
        message="both stores to be synced",
    )
    refresh_drain()

    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return after.get(name, **labels) - before.get(name, **labels)

    # Catalog, counted by the worker's pool process (this process ran no refresh).
    assert moved("brickops_refreshes_total", kind="part", outcome="succeeded") == 1
    assert REFRESHES.labels(kind="part", outcome="succeeded")._value.get() == in_this_process
    assert moved("brickops_refreshes_total", kind="part", outcome="retrying") >= 1
    assert moved("brickops_refresh_duration_seconds_count", kind="part") >= 2
    assert moved("brickops_backoffs_total", source="refresh", reason="retry") >= 1
    # Reads, counted by this process.
    assert moved("brickops_catalog_cache_total", result="hit") == 1
    assert moved("brickops_catalog_cache_total", result="miss") >= 1
    assert moved("brickops_last_known_good_served_total", kind="part") == 1
    # Marketplace calls, by endpoint template and outcome, with their durations.
    item_endpoint = {"provider": "bricklink", "endpoint": "GET /items/{type}/{no}"}
    assert moved("brickops_marketplace_requests_total", **item_endpoint, outcome="ok") == 1
    assert moved("brickops_marketplace_requests_total", **item_endpoint, outcome="transient") >= 1
    assert moved("brickops_marketplace_request_duration_seconds_count", **item_endpoint) >= 2
    assert moved("brickops_marketplace_requests_total", provider="brickowl", outcome="ok") >= 1
    assert moved("brickops_marketplace_requests_total", provider="bricklink", outcome="ok") >= 2
    # Inventory: the denial, the put-back, and both syncs.
    assert moved("brickops_ratelimit_denials_total", limit="bricklink:account") >= 1
    assert moved("brickops_backoffs_total", source="inventory_sync", reason="deferred") >= 1
    assert moved("brickops_inventory_syncs_total", provider="bricklink", outcome="deferred") >= 1
    assert moved("brickops_inventory_syncs_total", provider="bricklink", outcome="synced") == 1
    assert moved("brickops_inventory_syncs_total", provider="brickowl", outcome="synced") == 1

    # Database gauges, as the rows are now.
    assert after.get("brickops_outbox_messages", kind="part", status="succeeded") == 1
    assert after.get("brickops_outbox_messages", kind="part", status="failed") == 1
    assert after.get("brickops_outbox_messages", status="pending") == 0
    assert after.get("brickops_outbox_oldest_pending_age_seconds") == 0
    # Every kind of work, by its name: both syncs done, nothing held or waiting.
    assert after.get("brickops_work_rows", work="inventory_sync", status="synced") == 2
    for status in JobStatus.values:  # the refreshes, by status, whatever their kind
        refreshes = after.get("brickops_outbox_messages", status=status)
        assert after.get("brickops_work_rows", work="refresh", status=status) == refreshes
    for work in ("refresh", "inventory_sync"):
        assert after.get("brickops_work_due_rows", work=work) == 0
        assert after.get("brickops_work_in_flight_rows", work=work) == 0
    assert after.get("brickops_circuit_breaker_state", breaker="bricklink") == 0
    assert 0 <= after.get("brickops_drain_last_finished_age_seconds") < 60
    assert not before.has("brickops_drain_last_finished_age_seconds")
    window = {"limit": "bricklink:account", "rule": "0", "kind": "fixed_window"}
    assert after.get("brickops_ratelimit_capacity", **window) == 100_000  # test settings
    assert after.get("brickops_ratelimit_remaining", **window) < 100_000
    assert after.get("brickops_metrics_database_up") == 1

    # The worker's pool processes write files of their own beside this process's.
    files = set(os.listdir(settings.PROMETHEUS_MULTIPROC_DIR))
    assert {f"counter_{pid}.db" for pid in worker.pool_pids()} & files
    assert f"counter_{os.getpid()}.db" in files
