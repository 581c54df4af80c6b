"""No marketplace secret leaks anywhere, after a run full of failures at DEBUG log level.

The run: connections saved through the API, API calls that fail (bad input, bad auth, too
large, wrong role) carrying the secrets, inventory syncs against the sandbox answered 401 and
500, catalog refreshes answered 401 and 500, the clients' own exceptions. Then every captured
log line (message, arguments, extras and traceback, at DEBUG), every API answer, every message
published to the broker, every stored error and every admin page is searched for each secret.
BrickOwl's key is the sharpest case: it travels in URLs (``?key=``).
"""

from __future__ import annotations

import json
import logging
import traceback

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse
from kombu.messaging import Producer

from catalog.domain import Resource
from catalog.models import Kind, Priority, RefreshJob
from catalog.services import refresh_enqueue, refresh_process
from inventory.models import MarketplaceConnection, SyncState
from inventory.sync import sync_run
from marketplaces.bricklink import BrickLinkClient, Credentials
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import MarketplaceError
from marketplaces.http import sessions
from tests.conftest import sandbox_env
from tests.harness import purge_queues

from .conftest import make_catalog, make_tenant

pytestmark = pytest.mark.django_db

# Known to the sandbox (registered by the test): calls succeed unless a fault is injected.
SELLER_BL = {
    "consumer_key": "leak-seller-ck-1a2b",
    "consumer_secret": "leak-seller-cs-3c4d",
    "token_value": "leak-seller-tv-5e6f",
    "token_secret": "leak-seller-ts-7a8b",
}
SELLER_OWL = "leak-seller-owl-key-9c0d"
PLATFORM_BL = {
    "consumer_key": "leak-platform-ck-2b3c",
    "consumer_secret": "leak-platform-cs-4d5e",
    "token_value": "leak-platform-tv-6f7a",
    "token_secret": "leak-platform-ts-8b9c",
}
PLATFORM_OWL = "leak-platform-owl-key-0d1e"
# Unknown to the sandbox: every call with them is a 401.
WRONG_BL = {
    "consumer_key": "leak-wrong-ck-3c4d",
    "consumer_secret": "leak-wrong-cs-5e6f",
    "token_value": "leak-wrong-tv-7a8b",
    "token_secret": "leak-wrong-ts-9c0d",
}
WRONG_OWL = "leak-wrong-owl-key-1e2f"
SECRETS = sorted(
    {
        *SELLER_BL.values(),
        SELLER_OWL,
        *PLATFORM_BL.values(),
        PLATFORM_OWL,
        *WRONG_BL.values(),
        WRONG_OWL,
    }
)


class Evidence:
    """Everything the run left where a secret could show."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text) -> None:
        self.texts.append((where, text if isinstance(text, str) else repr(text)))

    def response(self, where: str, response) -> None:
        self.add(where, response.content.decode(errors="replace") + str(dict(response.items())))

    def leaks(self) -> list[str]:
        return [
            f"{secret!r} in {where}: ...{text[max(0, text.find(secret) - 80) :][:200]}..."
            for where, text in self.texts
            for secret in SECRETS
            if secret in text
        ]


class EverythingHandler(logging.Handler):
    """Every record at every level, with its arguments, extras and traceback, unformatted by
    any redaction: the code itself must not put a secret in a log record."""

    def __init__(self, evidence: Evidence) -> None:
        super().__init__(level=logging.DEBUG)
        self.evidence = evidence
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        text = [record.getMessage(), repr(record.args), repr(vars(record))]
        if record.exc_info:
            text.append("".join(traceback.format_exception(*record.exc_info)))
        self.evidence.add(f"log {record.name}", "\n".join(text))


@pytest.fixture
def evidence(settings, sandbox, monkeypatch):
    """The sandbox knows the seller's and the platform's credentials; logging at DEBUG;
    every published message recorded."""
    sandbox.control(
        bricklink_credentials=[SELLER_BL, PLATFORM_BL], brickowl_keys=[SELLER_OWL, PLATFORM_OWL]
    )
    for name, value in sandbox_env(sandbox).items():
        setattr(settings, name, value)
    settings.BRICKLINK_CONSUMER_KEY = PLATFORM_BL["consumer_key"]
    settings.BRICKLINK_CONSUMER_SECRET = PLATFORM_BL["consumer_secret"]
    settings.BRICKLINK_TOKEN_VALUE = PLATFORM_BL["token_value"]
    settings.BRICKLINK_TOKEN_SECRET = PLATFORM_BL["token_secret"]
    settings.BRICKOWL_API_KEY = PLATFORM_OWL
    settings.DEBUG = False
    found = Evidence()

    published = []
    original_publish = Producer.publish

    def publish(self, body, *args, **kwargs):
        published.append({"body": body, **kwargs})
        return original_publish(self, body, *args, **kwargs)

    monkeypatch.setattr(Producer, "publish", publish)
    root = logging.getLogger()
    handler = EverythingHandler(found)
    old_level = root.level
    root.setLevel(logging.DEBUG)  # what LOG_LEVEL=DEBUG does
    root.addHandler(handler)
    found.published = published
    found.handler = handler
    yield found
    root.removeHandler(handler)
    root.setLevel(old_level)
    sessions.clear()
    purge_queues()


def api_calls(evidence: Evidence, tenant, captured) -> None:
    owner = Client(HTTP_AUTHORIZATION=f"Token {tenant.owner_token}")
    member = Client(HTTP_AUTHORIZATION=f"Token {tenant.member_token}")
    anonymous = Client()
    for client in (owner, member, anonymous):
        client.raise_request_exception = False

    def put(client, provider, body, raw=None):
        with captured(execute=True):
            response = client.put(
                f"/api/v1/marketplaces/{provider}/",
                data=raw if raw is not None else json.dumps(body),
                content_type="application/json",
            )
        evidence.response(f"PUT {provider} {response.status_code}", response)
        return response

    assert put(owner, "bricklink", {"enabled": True, "credentials": SELLER_BL}).status_code == 200
    assert (
        put(
            owner, "brickowl", {"enabled": True, "credentials": {"api_key": SELLER_OWL}}
        ).status_code
        == 200
    )
    # Failures carrying secrets: each answers an error that must not echo them.
    failing = [
        (
            owner,
            "bricklink",
            {
                "enabled": True,
                "credentials": {**WRONG_BL, "consumer_secret": WRONG_BL["consumer_secret"] * 60},
            },
        ),
        (
            owner,
            "bricklink",
            {
                "enabled": True,
                "credentials": {
                    "consumer_key": WRONG_BL["consumer_key"],
                    "token_secret": WRONG_BL["token_secret"],
                },
            },
        ),
        (owner, "brickowl", {"enabled": True, "credentials": [WRONG_OWL]}),
        (owner, "brickowl", {"enabled": WRONG_OWL, "credentials": {"api_key": 12}}),
        (owner, "brickowl", {"enabled": True, "credentials": {"api_key": WRONG_OWL + "\x00"}}),
        (member, "brickowl", {"enabled": True, "credentials": {"api_key": WRONG_OWL}}),
        (anonymous, "brickowl", {"enabled": True, "credentials": {"api_key": WRONG_OWL}}),
    ]
    for client, provider, body in failing:
        assert put(client, provider, body).status_code >= 400
    raw_failures = [
        b'{"enabled": true, "credentials": {"api_key": "' + WRONG_OWL.encode() + b'"',  # bad JSON
        b'{"credentials": {"api_key": "'
        + WRONG_OWL.encode()
        + b'"}, "x": "'
        + b"y" * 3_000_000
        + b'"}',  # too large
    ]
    for raw in raw_failures:
        assert put(owner, "brickowl", None, raw=raw).status_code in (400, 413)
    token = anonymous.post(
        "/api/v1/auth/token/",
        {"username": tenant.owner.get_username(), "password": WRONG_BL["token_secret"]},
        content_type="application/json",
    )
    assert token.status_code == 401
    evidence.response("POST token", token)


def sync_failures(evidence: Evidence, tenant, sandbox) -> None:
    """What a worker does: the account's syncs, against the sandbox, failing."""
    items = [item.pk for item in tenant.items[:2]]

    def run_all(label: str) -> None:
        SyncState.objects.filter(item_id__in=items).update(
            attempts=0, next_attempt_at=None, claim_token=None, status="pending"
        )
        for item_id in items:
            for provider in ("bricklink", "brickowl"):
                outcome = sync_run(item_id=item_id, provider=provider)
                evidence.add(f"sync outcome {label}", outcome)

    # 401: credentials the sandbox does not know.
    for provider, credentials in (("bricklink", WRONG_BL), ("brickowl", {"api_key": WRONG_OWL})):
        MarketplaceConnection.objects.filter(account=tenant.account, provider=provider).update(
            credentials=credentials
        )
    run_all("401")
    assert SyncState.objects.filter(item_id__in=items, status="failed").count() == 4
    # 500: the right credentials, a marketplace failing.
    for provider, credentials in (("bricklink", SELLER_BL), ("brickowl", {"api_key": SELLER_OWL})):
        MarketplaceConnection.objects.filter(account=tenant.account, provider=provider).update(
            credentials=credentials
        )
    sandbox.control(faults=[{"provider": "*", "error_500": 1.0}])
    run_all("500")
    sandbox.control(faults=[])
    errors = SyncState.objects.filter(item_id__in=items).values_list("last_error", flat=True)
    assert all(errors)
    evidence.add("sync states", list(SyncState.objects.values()))


def refresh_failures(evidence: Evidence, settings, sandbox) -> None:
    """The catalog's refreshes with the platform's credentials: refused (401), then failing."""
    job = refresh_enqueue(resource=Resource(Kind.PART, "3005"), priority=Priority.HIGH)
    settings.BRICKLINK_CONSUMER_SECRET = WRONG_BL["consumer_secret"]
    settings.BRICKLINK_TOKEN_SECRET = WRONG_BL["token_secret"]
    evidence.add("refresh 401", refresh_process(job_id=job.job_id))
    assert RefreshJob.objects.get(pk=job.job_id).status == "failed"
    settings.BRICKLINK_CONSUMER_SECRET = PLATFORM_BL["consumer_secret"]
    settings.BRICKLINK_TOKEN_SECRET = PLATFORM_BL["token_secret"]
    sandbox.control(faults=[{"provider": "bricklink", "error_500": 1.0}])
    again = refresh_enqueue(resource=Resource(Kind.PART_COLORS, "3005"), priority=Priority.HIGH)
    evidence.add("refresh 500", refresh_process(job_id=again.job_id))
    sandbox.control(faults=[])
    assert RefreshJob.objects.get(pk=again.job_id).last_error
    evidence.add("refresh jobs", list(RefreshJob.objects.values()))


def client_exceptions(evidence: Evidence) -> None:
    """The clients' own errors, as a traceback or Sentry would show them."""
    calls = [
        lambda: BrickOwlClient(WRONG_OWL).inventory_list(external_id="x"),
        lambda: BrickOwlClient(WRONG_OWL).inventory_update(lot_id="1", absolute_quantity=1),
        lambda: BrickLinkClient(Credentials(**WRONG_BL)).inventory_list(),
        lambda: BrickOwlClient(SELLER_OWL, base_url="http://127.0.0.1:9").color_list(),
    ]
    for call in calls:
        with pytest.raises(MarketplaceError) as raised:
            call()
        exc = raised.value
        evidence.add("exception", "".join(traceback.format_exception(exc)))
        evidence.add("exception repr", [repr(exc), str(exc), exc.as_dict(), exc.body, vars(exc)])
    evidence.add("client repr", [repr(BrickOwlClient(SELLER_OWL)), repr(Credentials(**SELLER_BL))])


def admin_pages(evidence: Evidence, admin_client) -> None:
    """Every registered model's list and first change page, the queue dashboard."""
    pages = ["/admin/", reverse("admin:queue_dashboard")]
    for model in admin.site._registry:
        meta = model._meta
        try:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        except NoReverseMatch:
            continue
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        evidence.response(f"admin {page}", response)
    assert len(pages) > 10


def test_no_secret_leaks_anywhere_after_a_run_of_failures(
    evidence, settings, sandbox, admin_client, django_capture_on_commit_callbacks
):
    make_catalog()
    tenant = make_tenant("Leaky", connect=False)
    api_calls(evidence, tenant, django_capture_on_commit_callbacks)
    sync_failures(evidence, tenant, sandbox)
    refresh_failures(evidence, settings, sandbox)
    client_exceptions(evidence)
    owner = Client(HTTP_AUTHORIZATION=f"Token {tenant.owner_token}")
    for item in tenant.items[:2]:
        response = owner.get(f"/api/v1/inventory/items/{item.pk}/")
        assert response.json()["sync"]["bricklink"]["last_error"]
        evidence.response("item", response)
    admin_pages(evidence, admin_client)

    # Tasks take ids and plain names only.
    assert evidence.published, "the run published no task"
    for message in evidence.published:
        evidence.add("published", message)
        headers = message.get("headers") or {}
        args, kwargs, _ = message["body"]
        assert all(isinstance(arg, int | str) and len(str(arg)) < 40 for arg in args), message
        assert kwargs == {}, message
        assert headers.get("task", "").split(".")[0] in ("catalog", "inventory", "core")
    assert evidence.leaks() == []
    assert evidence.handler.count > 20, "the run logged almost nothing: is logging captured?"
