"""End to end: the API, real worker processes, PostgreSQL, Redis, and the sandbox over HTTP."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from catalog.domain import Resource
from catalog.models import JobStatus, Kind, Part, Priority, RefreshJob
from catalog.services import refresh_drain, refresh_enqueue
from catalog.tasks import process_refresh
from core import clock
from tests.factories import MembershipFactory, PartFactory, token_for
from tests.harness import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def http(live_server, transactional_db):
    """An authenticated requests session against the live server (a real threaded server)."""
    session = requests.Session()
    user = MembershipFactory(role="member").user
    session.headers["Authorization"] = f"Token {token_for(user)}"
    session.base = f"{live_server.url}/api/v1/catalog"
    return session


def test_missing_part_becomes_fresh_through_the_api_and_wait_returns_when_it_lands(
    worker, sandbox, http
):
    sandbox.control(latency={"fixed_ms": 300, "random_ms": 0})
    started = time.monotonic()
    body = http.get(f"{http.base}/parts/3001/", params={"wait": 10}).json()
    elapsed = time.monotonic() - started
    assert body["status"] == "fresh"
    assert body["data"]["name"] == "Brick 2 x 4"
    assert body["is_refreshing"] is False
    assert 0.3 <= elapsed < 5  # as soon as the data landed, not after the full wait
    assert RefreshJob.objects.get(resource="part:3001").status == JobStatus.SUCCEEDED
    # And without wait: missing, then fresh once the worker is done.
    first = http.get(f"{http.base}/parts/3003/colors/").json()
    assert first["status"] == "missing"
    wait_for(lambda: http.get(f"{http.base}/parts/3003/colors/").json()["status"] == "fresh")


def test_reads_of_many_parts_all_become_fresh_with_one_refresh_each(
    worker, sandbox, http, sandbox_catalog
):
    """A seller's page of 25 parts: their details, known colors and first price guide, read
    concurrently. Each missing resource gets one refresh; once they land, every read is fresh
    with the sandbox's data. In fault mode the refreshes fail now and then, and retry."""
    parts = [item for item in sandbox_catalog.parts() if item.colors][:25]
    paths = {}
    for item in parts:
        paths[f"parts/{item.no}/"] = item
        paths[f"parts/{item.no}/colors/"] = item
        paths[f"parts/{item.no}/price-guide/?color_id={item.colors[0][0]}"] = item
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda path: http.get(f"{http.base}/{path}"), paths))
    assert {response.status_code for response in first} == {200}
    assert {response.json()["status"] for response in first} <= {"missing", "refreshing"}
    assert RefreshJob.objects.count() == len(paths)  # one row per resource
    wait_for(
        lambda: not RefreshJob.objects.exclude(status=JobStatus.SUCCEEDED).exists(),
        timeout=120,
        interval=0.25,
        message="every refresh to succeed",
    )
    assert RefreshJob.objects.count() == len(paths)
    for path, item in paths.items():
        body = http.get(f"{http.base}/{path}").json()
        assert (body["status"], body["last_error"]) == ("fresh", None), (path, body)
        if path.endswith("/colors/"):
            assert {(c["color_id"], c["quantity"]) for c in body["data"]} == set(item.colors)
        elif "price-guide" in path:
            assert body["data"]["color_id"] == item.colors[0][0]
        else:
            assert body["data"]["name"] == item.plain_name


@pytest.mark.exact_sandbox("counts BrickLink calls: one per resource")
def test_fifty_concurrent_reads_make_one_row_and_one_set_of_calls(worker, sandbox, http):
    sandbox.control(latency={"fixed_ms": 200, "random_ms": 0})
    paths = ["parts/3001/"] * 30 + ["parts/3001/price-guide/?color_id=11"] * 30
    barrier = threading.Barrier(len(paths))

    def read(path):
        barrier.wait()
        return http.get(f"{http.base}/{path}").status_code

    with ThreadPoolExecutor(len(paths)) as pool:
        statuses = list(pool.map(read, paths))
    assert statuses == [200] * len(paths)
    assert RefreshJob.objects.filter(resource="part:3001").count() == 1
    assert RefreshJob.objects.filter(resource="price_guide:3001:11").count() == 1
    wait_for(
        lambda: not RefreshJob.objects.filter(status__in=["pending", "inflight"]).exists(),
        message="both refreshes to finish",
    )
    calls = sandbox.calls()
    assert calls["by_resource"]["GET /bricklink/items/PART/3001"] == 1
    assert calls["by_endpoint"]["GET /bricklink/items/{type}/{no}/price"] == 4


@pytest.mark.exact_sandbox("counts BrickLink calls: the lost one and the one that completed")
def test_a_worker_killed_mid_call_is_reclaimed_after_its_lease_and_completed_once(
    sandbox, start_worker, transactional_db, monkeypatch
):
    from catalog import work as catalog_work

    # Enqueue without publishing: this test sends the message to a queue only its doomed
    # worker reads, so no other worker can pick the job up first.
    monkeypatch.setattr(catalog_work, "publish_refresh", lambda *args, **kw: None)
    lease = {"CATALOG_LEASE_SECONDS": "3"}
    doomed = start_worker(queues="doomed", env=lease, concurrency=1)
    sandbox.control(faults=[{"provider": "bricklink", "path": "^/items", "latency_fixed_ms": 8000}])
    result = refresh_enqueue(resource=Resource(Kind.PART, "3001"), priority=Priority.HIGH)
    monkeypatch.undo()  # from here on, publishing is real (the drain needs it)
    process_refresh.apply_async(args=[result.job_id], queue="doomed")
    wait_for(lambda: sandbox.calls()["total"] >= 1, message="the call to start")
    assert RefreshJob.objects.get(pk=result.job_id).status == JobStatus.INFLIGHT
    os.killpg(doomed.proc.pid, signal.SIGKILL)  # the worker and its pool, mid-call
    doomed.proc.wait(10)

    sandbox.control(faults=[])
    start_worker(queues="urgent,default", env=lease)
    job = RefreshJob.objects.get(pk=result.job_id)
    assert job.status == JobStatus.INFLIGHT  # nobody knows yet that its worker is gone
    wait_for(lambda: clock.now() > job.lease_expires_at, timeout=10)
    run = refresh_drain()
    assert run.reclaimed == 1
    wait_for(
        lambda: RefreshJob.objects.get(pk=result.job_id).status == JobStatus.SUCCEEDED,
        message="the reclaimed row to complete",
    )
    job = RefreshJob.objects.get(pk=result.job_id)
    assert job.attempts == 1  # the lost run counted
    assert Part.objects.filter(no="3001").count() == 1
    assert RefreshJob.objects.filter(resource="part:3001").count() == 1
    assert sandbox.calls()["by_resource"]["GET /bricklink/items/PART/3001"] == 2


def test_last_known_good_is_served_while_bricklink_answers_only_500s(worker, sandbox, http):
    PartFactory(no="3001", name="Brick 2 x 4", last_fetched=clock.now() - timedelta(days=90))
    sandbox.control(faults=[{"provider": "bricklink", "error_500": 1}])
    first = http.get(f"{http.base}/parts/3001/").json()
    assert first["data"]["name"] == "Brick 2 x 4"
    assert first["freshness"] == "expired"
    wait_for(
        lambda: RefreshJob.objects.filter(resource="part:3001", attempts__gte=1).exists(),
        message="a failed attempt",
    )
    body = http.get(f"{http.base}/parts/3001/").json()
    assert body["data"]["name"] == "Brick 2 x 4"  # last-known-good, never an error page
    assert body["status"] == "refreshing"
    assert body["last_error"]["code"] == "transient"
    assert body["last_error"]["at"].endswith("Z")
    assert http.get(f"{http.base}/parts/3001/", params={"wait": 1}).status_code == 200
