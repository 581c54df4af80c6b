"""/metrics: every process's counters added up (multiprocess mode), gauges read from the
database at scrape time, clean labels, access control, and alert rules that use only what is
exported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.db import OperationalError
from prometheus_client.parser import text_string_to_metric_families

from catalog.domain import Resource
from catalog.models import DrainRun, JobStatus, Kind, Priority, RefreshJob
from catalog.services import refresh_drain, refresh_enqueue, refresh_mark_failed
from core import clock
from core.exporter import ProcessFilesCollector, clear
from core.metrics import REFRESHES, endpoint_label
from inventory.models import MarketplaceConnection, Provider, SyncState, SyncStatus
from inventory.services import item_create
from ratelimit.models import CircuitBreaker
from ratelimit.services import rate_limit_exhaust_until, rate_limit_take
from tests.factories import AccountFactory, MembershipFactory, PartFactory
from tests.harness import ROOT, SandboxProcess, wait_for

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ENDPOINT = re.compile(r"^(GET|POST|PUT|DELETE) (/([a-z_]+|\{[a-z_]+\}))+$")


class Scrape:
    """One answer of /metrics, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for family in self.families.values() for s in family.samples]

    def get(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
            for s in self.samples
        )

    def names(self) -> set[str]:
        return set(self.families) | {s.name for s in self.samples}


def scrape(client, **headers) -> Scrape:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return Scrape(response.content.decode())


# --- end to end: a real worker process writes, the web process adds up ------------------------


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


# --- database gauges -----------------------------------------------------------------------------


def job(kind: str, no: str, status: str, age: timedelta, color_id: int | None = None):
    now = clock.now()
    resource = ":".join(str(p) for p in (kind, no, color_id) if p is not None)
    return RefreshJob.objects.create(
        kind=kind,
        no=no,
        color_id=color_id,
        resource=resource,
        status=status,
        next_attempt_at=now,
        created_at=now - age,
        updated_at=now,
    )


def test_database_gauges_are_read_from_the_rows_at_scrape_time(client, db, fake_clock):
    job(Kind.PART, "1", JobStatus.PENDING, timedelta(minutes=10))
    job(Kind.PART, "2", JobStatus.PENDING, timedelta(minutes=2))
    job(Kind.PART_COLORS, "3", JobStatus.INFLIGHT, timedelta(minutes=30))
    job(Kind.PRICE_GUIDE, "4", JobStatus.SUCCEEDED, timedelta(hours=1), color_id=11)
    job(Kind.PART, "5", JobStatus.FAILED, timedelta(hours=2))
    now = fake_clock()
    DrainRun.objects.create(
        started_at=now - timedelta(seconds=130), finished_at=now - timedelta(seconds=120)
    )
    DrainRun.objects.create(started_at=now - timedelta(seconds=30))  # still running
    CircuitBreaker.objects.create(name="bricklink", state="open", updated_at=now)
    CircuitBreaker.objects.create(name="brickowl", state="half_open", updated_at=now)
    assert rate_limit_take(names="bricklink:global", count=3).granted
    assert rate_limit_take(names=[("bricklink:account", "1")], count=5).granted
    assert rate_limit_take(names=[("bricklink:account", "2")], count=2).granted

    metrics = scrape(client)

    assert metrics.get("brickops_metrics_database_up") == 1
    outbox = "brickops_outbox_messages"
    assert metrics.get(outbox, kind="part", status="pending") == 2
    assert metrics.get(outbox, kind="part_colors", status="inflight") == 1
    assert metrics.get(outbox, kind="price_guide", status="succeeded") == 1
    assert metrics.get(outbox, kind="part", status="failed") == 1
    # Every kind and status is there, zeros included, so rules never meet a missing series.
    assert metrics.has(outbox, kind="price_guide", status="pending")
    assert metrics.get(outbox, kind="price_guide", status="pending") == 0
    assert len([s for s in metrics.samples if s.name == outbox]) == len(Kind) * len(JobStatus)
    assert metrics.get("brickops_outbox_oldest_pending_age_seconds") == 600
    assert metrics.get("brickops_drain_last_finished_age_seconds") == 120
    assert metrics.get("brickops_circuit_breaker_state", breaker="bricklink") == 2
    assert metrics.get("brickops_circuit_breaker_state", breaker="brickowl") == 1

    def limit(name: str, rule: str, kind: str) -> tuple[float, float]:
        labels = {"limit": name, "rule": rule, "kind": kind}
        return (
            metrics.get("brickops_ratelimit_remaining", **labels),
            metrics.get("brickops_ratelimit_capacity", **labels),
        )

    assert limit("bricklink:global", "0", "fixed_window") == (99_997, 100_000)
    assert limit("bricklink:global", "1", "token_bucket") == (997, 1000)  # the clock stands
    # Kept per account: the account with the least left.
    assert limit("bricklink:account", "0", "fixed_window") == (99_995, 100_000)
    # Never used: full.
    background = 3000  # 60 % of 5,000 (base settings)
    assert limit("bricklink:background", "0", "fixed_window") == (background, background)


def test_database_gauges_without_rows_and_when_the_database_fails(client, db, monkeypatch):
    metrics = scrape(client)
    assert metrics.get("brickops_circuit_breaker_state", breaker="bricklink") == 0  # never opened
    assert metrics.get("brickops_outbox_oldest_pending_age_seconds") == 0
    assert "brickops_drain_last_finished_age_seconds" in metrics.families  # declared...
    assert not metrics.has("brickops_drain_last_finished_age_seconds")  # ...but no sample yet

    from core.exporter import DatabaseCollector

    def down(self):
        raise OperationalError("connection refused")

    REFRESHES.labels(kind="part", outcome="succeeded").inc(0)  # a process series exists
    monkeypatch.setattr(DatabaseCollector, "_outbox", down)
    metrics = scrape(client)  # still answers, with the process series
    assert metrics.get("brickops_metrics_database_up") == 0
    assert metrics.has("brickops_refreshes_total", kind="part", outcome="succeeded")
    assert not metrics.has("brickops_outbox_messages")


# --- the files of several processes --------------------------------------------------------------

COUNT = """
import sys
from core.metrics import REFRESH_DURATION, REFRESHES
REFRESHES.labels(kind="part", outcome="succeeded").inc({count})
REFRESH_DURATION.labels(kind="part").observe({seconds})
if {stay}:
    print("ready", flush=True)
    sys.stdin.read()
"""


def counting_process(path: Path, *, count: int, seconds: float, stay: bool = False):
    proc = subprocess.Popen(
        [sys.executable, "-c", COUNT.format(count=count, seconds=seconds, stay=stay)],
        cwd=ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if stay:
        assert proc.stdout.readline().strip() == "ready"
    else:
        assert proc.wait(30) == 0
    return proc


def collected(path: Path) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in ProcessFilesCollector(str(path)).collect()
        for s in metric.samples
    }


def test_process_files_are_added_up_and_exited_processes_folded_without_losing_counts(tmp_path):
    count = ("brickops_refreshes_total", (("kind", "part"), ("outcome", "succeeded")))
    duration_sum = ("brickops_refresh_duration_seconds_sum", (("kind", "part"),))
    duration_count = ("brickops_refresh_duration_seconds_count", (("kind", "part"),))

    def bucket(le: str):
        return ("brickops_refresh_duration_seconds_bucket", (("kind", "part"), ("le", le)))

    first = counting_process(tmp_path, count=3, seconds=1.5)
    live = counting_process(tmp_path, count=4, seconds=0.2, stay=True)
    values = collected(tmp_path)
    assert values[count] == 7
    assert values[bucket("0.25")] == 1
    assert values[bucket("2.0")] == 2
    assert values[duration_sum] == pytest.approx(1.7)
    files = set(os.listdir(tmp_path))
    assert f"counter_{first.pid}.db" not in files  # exited: folded into the archive
    assert {"counter_archive.db", "histogram_archive.db", f"counter_{live.pid}.db"} <= files

    assert collected(tmp_path) == values  # folding twice counts nothing twice

    live.stdin.close()
    assert live.wait(30) == 0
    counting_process(tmp_path, count=2, seconds=0.05)
    values = collected(tmp_path)
    assert values[count] == 9
    assert values[bucket("0.05")] == 1
    assert values[bucket("+Inf")] == 3
    assert values[duration_count] == 3
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".db")) == [
        "counter_archive.db",
        "histogram_archive.db",
    ]


def test_metrics_reset_keeps_only_the_files_of_running_processes(tmp_path):
    counting_process(tmp_path, count=1, seconds=0.1)
    collected(tmp_path)  # folds it into the archives
    live = counting_process(tmp_path, count=5, seconds=0.1, stay=True)
    try:
        assert clear(str(tmp_path)) == 2  # the two archives
        assert (
            collected(tmp_path)[
                ("brickops_refreshes_total", (("kind", "part"), ("outcome", "succeeded")))
            ]
            == 5
        )
    finally:
        live.stdin.close()
        live.wait(30)


# --- labels --------------------------------------------------------------------------------------


def test_endpoint_label_is_the_template_and_never_a_query_string():
    assert endpoint_label("get", "/items/{type}/{no}/price") == "GET /items/{type}/{no}/price"
    assert endpoint_label("GET", "/catalog/id_lookup?key=abc&id=3001") == "GET /catalog/id_lookup"


def test_marketplace_labels_carry_templates_never_keys_urls_or_ids(bricklink_sandbox, client, db):
    from marketplaces.bricklink import BrickLinkClient
    from marketplaces.brickowl import BrickOwlClient
    from marketplaces.errors import NotFound

    owl = BrickOwlClient(SandboxProcess.BRICKOWL_KEY)
    owl.id_lookup("3001")
    owl.color_list()
    bricklink = BrickLinkClient.platform()
    bricklink.item("3001", "PART")
    with pytest.raises(NotFound):
        bricklink.item("no-such-part-98765", "PART")

    metrics = scrape(client)
    series = [s for s in metrics.samples if s.name.startswith("brickops_marketplace_")]
    endpoints = {s.labels["endpoint"] for s in series}
    assert {"GET /catalog/id_lookup", "GET /catalog/color_list", "GET /items/{type}/{no}"} <= (
        endpoints
    )
    assert all(ENDPOINT.match(endpoint) for endpoint in endpoints), endpoints
    assert (
        metrics.get(
            "brickops_marketplace_requests_total",
            provider="bricklink",
            endpoint="GET /items/{type}/{no}",
            outcome="not_found",
        )
        >= 1
    )
    secrets = (SandboxProcess.BRICKOWL_KEY, *SandboxProcess.BRICKLINK_CREDENTIALS.values())
    for sample in metrics.samples:  # every series, not only the marketplace ones
        for value in sample.labels.values():
            for leak in ("?", "://", "key=", "3001", "98765", *secrets):
                assert leak not in value, sample
    assert SandboxProcess.BRICKOWL_KEY not in metrics.text


# --- access --------------------------------------------------------------------------------------


def test_metrics_is_open_unless_a_token_or_addresses_restrict_it(client, db, settings):
    assert client.get("/metrics").status_code == 200
    # What Prometheus asks for first: OpenMetrics.
    openmetrics = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text;version=1.0.0")
    assert openmetrics.status_code == 200
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.content.decode().endswith("# EOF\n")

    settings.METRICS_TOKEN = "scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token scrape-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token").status_code == 200

    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.168.1.7"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.7").status_code == 200
    assert client.post("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 405


# --- alert rules ---------------------------------------------------------------------------------


def test_alert_rules_use_only_series_metrics_exports(bricklink_sandbox, client, db):
    from catalog.tasks import process_refresh

    # Make the process series the rules use exist: a refresh run here, and a finished drain.
    queued = refresh_enqueue(resource=Resource(Kind.PART, "3001"), priority=Priority.HIGH)
    assert process_refresh(queued.job_id) == "succeeded"
    DrainRun.objects.create(started_at=clock.now(), finished_at=clock.now())
    exported = scrape(client).names()

    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    assert {
        "BrickopsOutboxBacklog",
        "BrickopsRefreshFailureRate",
        "BrickopsNoDrain",
        "BrickopsQuotaNearlySpent",
    } <= {rule["alert"] for rule in rules}
    for rule in rules:
        used = set(re.findall(r"\bbrickops_[a-z0-9_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} uses {used - exported}"
