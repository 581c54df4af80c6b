"""Structured logs, the request id that follows a request into its Celery tasks, and the filter
that keeps secrets out of every line. The formats and the ids are checked in the output of
real processes (a management command, real worker processes)."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import uuid

import pytest
import requests
from cryptography.fernet import Fernet
from django_guid import clear_guid, get_guid, set_guid

from catalog.models import JobStatus, RefreshJob
from core.logs import REDACTED, RedactSecretsFilter
from core.tasks import heartbeat
from inventory.models import SyncState
from tests.conftest import sandbox_env
from tests.factories import MarketplaceConnectionFactory, MembershipFactory, token_for
from tests.harness import ROOT, SandboxProcess, child_env, wait_for

# A line in the text format: "2026-11-23 10:00:00,000 INFO name [id] message".
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+ \[")
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def json_records(text: str) -> list[dict]:
    """The log records of a process's output: every line that is a JSON object. The lines that
    are not (Celery's banner, tqdm's progress bar, warnings) must not be log records either."""
    records = []
    for line in re.split(r"[\r\n]+", text):
        assert not TEXT_LINE.match(line), f"a text log line with LOG_FORMAT=json: {line!r}"
        if line.startswith("{"):
            records.append(json.loads(line))  # every such line parses
    return records


def worker_records(worker, **match) -> list[dict]:
    records = json_records(worker.log_path.read_text(errors="replace"))
    return [r for r in records if all(r.get(key) == value for key, value in match.items())]


@pytest.fixture
def user_session(live_server, transactional_db):
    """An owner's authenticated requests session against the live server (its own thread)."""
    user = MembershipFactory(role="owner").user
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token_for(user)}"
    session.base = live_server.url
    session.account = user.membership.account
    yield session
    session.close()


# --- the JSON format ----------------------------------------------------------------------------


def test_log_format_json_makes_a_management_command_log_json_lines(sandbox, transactional_db):
    result = subprocess.run(
        [sys.executable, "manage.py", "sync_catalog_reference"],
        cwd=ROOT,
        env=child_env(LOG_FORMAT="json", **sandbox_env(sandbox)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "colors and" in result.stdout  # the command's own report is not a log line
    records = json_records(result.stderr)
    calls = [r for r in records if r["logger"] == "marketplaces.http"]
    assert len(calls) == 2, records  # colors and categories
    for record in records:
        assert {"timestamp", "level", "logger", "message", "correlation_id"} <= record.keys()
    assert calls[0]["level"] == "INFO"
    assert calls[0]["message"].startswith("bricklink GET /colors -> 200")
    # Outside a request or task there is no request id; the field is there all the same.
    assert calls[0]["correlation_id"] is None


def test_log_format_text_is_the_default_and_shows_the_request_id():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, logging; django.setup(); from django_guid import set_guid; "
            "set_guid('0123456789abcdef0123456789abcdef'); "
            "logging.getLogger('brickops.demo').warning('hello')",
        ],
        cwd=ROOT,
        env={k: v for k, v in child_env().items() if k != "LOG_FORMAT"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert TEXT_LINE.match(line), line
    assert line.endswith("WARNING brickops.demo [0123456789abcdef0123456789abcdef] hello")


def test_log_format_other_than_text_or_json_is_refused():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=child_env(LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'text' or 'json', not 'xml'" in result.stderr


# --- the request id -----------------------------------------------------------------------------


def test_a_request_id_header_is_echoed_and_a_missing_or_invalid_one_replaced(user_session):
    url = f"{user_session.base}/api/v1/"
    given = str(uuid.uuid4())
    assert user_session.get(url, headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    generated = user_session.get(url).headers["X-Request-ID"]
    assert HEX_ID.match(generated)
    invalid = user_session.get(url, headers={"X-Request-ID": "x; rm -rf /"})
    assert HEX_ID.match(invalid.headers["X-Request-ID"])
    # Errors carry it too (the id is set before any other middleware runs).
    missing = user_session.get(f"{url}nowhere/", headers={"X-Request-ID": given})
    assert missing.status_code == 404
    assert missing.headers["X-Request-ID"] == given


@pytest.mark.worker
def test_a_catalog_refresh_logs_the_request_id_in_the_worker(worker, sandbox, user_session):
    """GET a missing part: the refresh is published after commit; every line the worker
    writes for it carries the id the request came with."""
    request_id = uuid.uuid4().hex
    response = user_session.get(
        f"{user_session.base}/api/v1/catalog/parts/3001/",
        params={"wait": 10},
        headers={"X-Request-ID": request_id},
    )
    assert response.json()["status"] == "fresh"
    assert response.headers["X-Request-ID"] == request_id
    assert RefreshJob.objects.get(resource="part:3001").status == JobStatus.SUCCEEDED

    def lines():
        # The session's worker logs in whatever LOG_FORMAT the suite runs with (text unless
        # set): the id appears on a line only as that line's request id.
        text = worker.log_path.read_text(errors="replace")
        found = [line for line in text.splitlines() if request_id in line]
        return found if any("succeeded" in line for line in found) else None

    found = wait_for(lines, timeout=60, message="the worker's lines with the request id")
    assert any("marketplaces.http" in line and "/items/{type}/{no}" in line for line in found)
    assert any("celery.app.trace" in line and "catalog.process_refresh" in line for line in found)


@pytest.mark.worker
def test_an_inventory_sync_logs_the_request_id_as_json_in_the_worker(
    sandbox, start_worker, user_session, settings
):
    """Create an item: its sync is published after the request's transaction commits, to a
    queue only this test's worker (LOG_FORMAT=json) reads."""
    settings.INVENTORY_SYNC_QUEUE = "logs-json"
    worker = start_worker(
        concurrency=1, queues="logs-json", env={"LOG_FORMAT": "json", "INVENTORY_SYNC_QUEUE": "x"}
    )
    MarketplaceConnectionFactory(
        account=user_session.account,
        provider="bricklink",
        credentials=SandboxProcess.BRICKLINK_CREDENTIALS,
    )
    request_id = str(uuid.uuid4())
    created = user_session.post(
        f"{user_session.base}/api/v1/inventory/items/",
        json={"part_number": "3001", "color_id": 11, "condition": "new", "quantity_available": 3},
        headers={"X-Request-ID": request_id},
    )
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-ID"] == request_id
    item_id = created.json()["id"]
    wait_for(
        lambda: SyncState.objects.filter(item_id=item_id, status="synced").exists(),
        message="the sync to finish",
    )
    mine = wait_for(
        lambda: [
            r
            for r in worker_records(worker, correlation_id=request_id)
            if r["logger"] == "celery.app.trace"
        ],
        timeout=60,
        message="the task's success line",
    )
    assert "inventory.sync_item" in mine[0]["message"]
    calls = [r for r in worker_records(worker) if r["logger"] == "marketplaces.http"]
    assert calls, worker.log_tail()
    assert {r["correlation_id"] for r in calls} == {request_id}
    assert all(r["level"] == "INFO" and "timestamp" in r for r in calls)
    assert sandbox.inventory("bricklink", SandboxProcess.BRICKLINK_CREDENTIALS["consumer_key"])


@pytest.mark.worker
def test_a_task_published_without_a_request_id_gets_its_own(start_worker, transactional_db):
    """What beat does: publish outside any request. Each task gets a fresh id of its own."""
    worker = start_worker(concurrency=1, queues="logs-beat", env={"LOG_FORMAT": "json"})
    previous = get_guid()
    clear_guid()
    try:
        heartbeat.apply_async(queue="logs-beat")
        heartbeat.apply_async(queue="logs-beat")
    finally:
        set_guid(previous)

    def successes():
        found = [
            r
            for r in worker_records(worker, logger="celery.app.trace")
            if "succeeded" in r["message"]
        ]
        return found if len(found) == 2 else None

    ids = [r["correlation_id"] for r in wait_for(successes, message="both heartbeats")]
    assert all(HEX_ID.match(i) for i in ids), ids
    assert ids[0] != ids[1]


# --- redaction ----------------------------------------------------------------------------------


@pytest.fixture
def logged(settings):
    """Log through the redaction filter and the JSON formatter, as every handler does;
    answers the parsed record."""
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False

    def log(message, *args, **kwargs) -> dict:
        stream.seek(0)
        stream.truncate()
        logger.warning(message, *args, **kwargs)
        return json.loads(stream.getvalue())

    yield log
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize(
    ("message", "secrets", "kept"),
    [
        pytest.param(
            "GET https://api.brickowl.com/v1/inventory/list?key=0f3c9e11aa77&active_only=1",
            ["0f3c9e11aa77"],
            ["https://api.brickowl.com/v1/inventory/list?key=", "&active_only=1"],
            id="brickowl-key-query",
        ),
        pytest.param(
            "POST body: key=0f3c9e11aa77&lot_id=12&quantity=3",
            ["0f3c9e11aa77"],
            ["lot_id=12&quantity=3"],
            id="brickowl-key-form",
        ),
        pytest.param(
            "params {'key': '0f3c9e11aa77', 'boid': '771394'}",
            ["0f3c9e11aa77"],
            ["'boid': '771394'"],
            id="brickowl-key-dict",
        ),
        pytest.param(
            'Authorization: OAuth realm="", oauth_consumer_key="ck-7d1e2", '
            'oauth_token="tv-9a8b7", oauth_signature="c2lnbmF0dXJl%3D", oauth_nonce="1234"',
            ["ck-7d1e2", "tv-9a8b7", "c2lnbmF0dXJl%3D"],
            ['oauth_nonce="1234"'],
            id="oauth-header",
        ),
        pytest.param(
            "GET /items?oauth_token=tv-9a8b7&oauth_signature=c2lnbmF0dXJl&no=3001",
            ["tv-9a8b7", "c2lnbmF0dXJl"],
            ["&no=3001"],
            id="oauth-query",
        ),
        pytest.param(
            "credentials {'consumer_key': 'ck-7d1e2', 'consumer_secret': 'cs-6f5e4', "
            "'token_value': 'tv-9a8b7', 'token_secret': 'ts-3c2b1'}",
            ["ck-7d1e2", "cs-6f5e4", "tv-9a8b7", "ts-3c2b1"],
            ["credentials {'consumer_key': "],
            id="oauth-credentials-dict",
        ),
        pytest.param(
            "headers {'Authorization': 'Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b', "
            "'Accept': 'application/json'}",
            ["9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"],
            ["'Accept': 'application/json'"],
            id="authorization-dict",
        ),
        pytest.param(
            "upstream said: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln rejected",
            ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"],
            ["rejected"],
            id="bearer-token",
        ),
        pytest.param(
            "environment SECRET_KEY=kq8Zr0_7a-long-django-secret FIELD_ENCRYPTION_KEY=abc,def",
            ["kq8Zr0_7a-long-django-secret", "abc,def"],
            ["environment SECRET_KEY="],
            id="secret-settings-by-name",
        ),
        pytest.param(
            "broker redis://:s3cr3t-pw@10.0.0.5:6379/0 is down",
            ["s3cr3t-pw"],
            ["redis://:", "@10.0.0.5:6379/0 is down"],
            id="url-credentials",
        ),
    ],
)
def test_redaction_removes_each_secret_shape(logged, message, secrets, kept):
    record = logged(message)
    for secret in secrets:
        assert secret not in record["message"]
    for text in kept:
        assert text in record["message"]
    assert REDACTED in record["message"]


def test_redaction_removes_the_configured_secret_values_wherever_they_appear(logged, settings):
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    settings.FIELD_ENCRYPTION_KEY = ",".join(keys)
    settings.SECRET_KEY = "a-django-secret-key-" + uuid.uuid4().hex
    settings.BRICKOWL_API_KEY = "owl-platform-" + uuid.uuid4().hex[:8]
    record = logged(
        "keys %s and %s, secret %s, owl %s",
        keys[0],
        keys[1],
        settings.SECRET_KEY,
        settings.BRICKOWL_API_KEY,
    )
    for value in [*keys, settings.SECRET_KEY, settings.BRICKOWL_API_KEY]:
        assert value not in record["message"]
    assert record["message"] == f"keys {REDACTED} and {REDACTED}, secret {REDACTED}, owl {REDACTED}"
    # A Fernet key that is not (or no longer) configured is still recognised by its shape.
    stray = Fernet.generate_key().decode()
    assert logged("old key %s", stray)["message"] == f"old key {REDACTED}"


def test_redaction_covers_tracebacks_and_extra_fields(logged):
    try:
        raise ValueError("GET https://api.brickowl.com/v1/catalog/lookup?key=0f3c9e11aa77")
    except ValueError:
        record = logged(
            "lookup failed",
            exc_info=True,
            extra={"url": "/v1/order/list?key=0f3c9e11aa77", "api_key": "0f3c9e11aa77", "n": 3},
        )
    assert "0f3c9e11aa77" not in json.dumps(record)
    assert "ValueError: GET https://api.brickowl.com/v1/catalog/lookup?key=" in record["exc_info"]
    assert record["url"] == f"/v1/order/list?key={REDACTED}"
    assert record["api_key"] == REDACTED
    assert record["n"] == 3


def test_redaction_leaves_ordinary_lines_alone(logged):
    for message in [
        "bricklink GET /items/{type}/{no}/price -> 200 meta=200 ok in 203.0ms",
        "refresh #12 attempt 2 failed: transient: HTTP 503",
        "sync of #5 on brickowl waits 1.2s: rate limited",
        "took 4 tokens from bricklink:global",
    ]:
        assert logged(message)["message"] == message


def test_redaction_keeps_a_malformed_call_and_never_raises_in_the_caller(logged):
    record = logged("refresh #%d failed", "key=0f3c9e11aa77")
    assert record["message"] == f"refresh #%d failed ('key={REDACTED}',)"
