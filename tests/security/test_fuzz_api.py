"""Schemathesis against the live OpenAPI schema, in-process through the WSGI app, on PostgreSQL.

Every operation of ``/api/schema/`` gets valid and invalid requests (a fixed seed, so a run is
reproducible) as the owner of an account with data, with its real ids as well as random ones.
Every answer must be: no 5xx, every error in the envelope of ``docs/api-v1.md``, and the status,
content type, headers and body as the schema documents them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import purge_queues
from tests.longform import LONG

# Examples per operation and generation mode, before the passes with the account's real ids:
# `make test` sends about 200 requests, `make chaos` (CHAOS=1) about 4,000.
EXAMPLES, MIN_REQUESTS = (70, 2000) if LONG else (3, 120)
SEED = 20261123
ENVELOPE_KEYS = {"code", "message", "details"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class CountingApp:
    """The project's WSGI app, counting the requests that reach it."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests = 0

    def __call__(self, environ, start_response):
        self.requests += 1
        return self.app(environ, start_response)


class InstantTime:
    """``?wait=N`` polls until N seconds pass: here every look at the clock is a second later,
    so a generated ``wait=10`` costs ten queries instead of ten seconds."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now

    def sleep(self, seconds: float) -> None:
        pass


def envelope_problem(response) -> str | None:
    """Why an error answer is not ``{"error": {"code", "message", "details"}}``, or None."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        return f"{response.status_code} answered as {content_type!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{response.status_code} with a body that is not JSON"
    if not isinstance(body, dict) or set(body) != {"error"}:
        return f"{response.status_code} without the error envelope: {str(body)[:200]}"
    error = body["error"]
    if not isinstance(error, dict) or set(error) != ENVELOPE_KEYS:
        return f"{response.status_code} with a malformed envelope: {str(body)[:200]}"
    if not isinstance(error["code"], str) or not isinstance(error["message"], str):
        return f"{response.status_code} with a non-string code or message"
    if response.status_code == 429 and "retry-after" not in response.headers:
        return "429 without Retry-After"
    return None


def error_envelope(ctx: CheckContext, response, case) -> bool | None:
    problem = envelope_problem(response)
    if problem:
        raise Failure(operation=case.operation.label, title="Error envelope", message=problem)
    return True


@pytest.fixture
def fuzz_environment(monkeypatch, settings):
    """No throttling (a fuzzer is not a client to slow down) and ``?wait`` without waiting."""
    from catalog.services import reads

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    monkeypatch.setattr(ScopedRateThrottle, "allow_request", lambda self, request, view: True)
    monkeypatch.setattr(reads, "time", InstantTime())
    settings.DEBUG = False
    yield
    purge_queues()


def run_operation(
    operation, mode: GenerationMode, headers: dict, record: Callable, **fixed
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, headers=headers, **fixed)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def run(case) -> None:
        response = case.call()
        try:
            case.validate_response(response, checks=CHECKS, additional_checks=[error_envelope])
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported after
            record(operation.label, mode.value, case, response, exc)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid (no parameters, no body): the positive pass covered it.
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.django_db(transaction=True)
def test_the_api_survives_thousands_of_generated_requests(tenants, fuzz_environment, capsys):
    mine, _ = tenants
    app = CountingApp(get_wsgi_application())
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app).exclude(
        path_regex="^/api/v1/_"  # a test's own route (tests/core/test_errors.py)
    )
    auth = {"Authorization": f"Token {mine.owner_token}"}
    failures: dict[tuple[str, str, int], str] = {}
    per_operation: Counter[str] = Counter()

    def record(label, mode, case, response, exc) -> None:
        found = getattr(exc, "exceptions", None) or [exc]
        for failure in found:
            key = (label, getattr(failure, "code", type(failure).__name__), response.status_code)
            failures.setdefault(
                key,
                f"{label} [{mode}] -> {response.status_code}: {str(failure)[:1500]}\n"
                f"    {case.as_curl_command()}",
            )

    started = time.monotonic()
    live_item = mine.items[0].pk
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17, [op.label for op in operations]
    for operation in operations:
        before = app.requests
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_operation(operation, mode, auth, record)
        if "{item_id}" in operation.path:  # the account's own item, not only random ids
            run_operation(
                operation,
                GenerationMode.POSITIVE,
                auth,
                record,
                path_parameters={"item_id": live_item},
            )
        per_operation[operation.label] = app.requests - before
    elapsed = time.monotonic() - started

    with capsys.disabled():
        print(  # noqa: T201 - the figures this run is quoted by
            f"\nschemathesis: {app.requests} requests over {len(operations)} operations "
            f"in {elapsed:.0f}s (seed {SEED})"
        )
    assert app.requests >= MIN_REQUESTS, per_operation
    assert not failures, "\n\n".join(failures.values())
