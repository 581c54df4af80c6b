"""Both clients against a real, hostile HTTP server on a local port: what it answers.

100,000 nested ``[``, HTML with 200 and 503, bytes that are not UTF-8, ``Infinity`` and
10^50000 where integers belong, redirects to 127.0.0.1, malformed ``Retry-After``: each is one
of :mod:`marketplaces.errors`, never a crash, and a redirect is never followed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marketplaces.errors import BadRequest, RateLimited, TransientError
from marketplaces.http import parse_retry_after
from tests.marketplaces.hostile import OWL_KEY, HostileServer, response, run_bounded

ROOT = Path(__file__).resolve().parents[2]

# --- malformed bodies --------------------------------------------------------------------------


def fixed(server: HostileServer, status: str, body: bytes, content_type="application/json", **h):
    def action(conn, scenario):
        server.send(conn, scenario, response(status, body, content_type, **h))

    return action


NESTED = b"[" * 100_000
ENVELOPE_NESTED = b'{"meta": {"code": 200}, "data": ' + b"[" * 100_000 + b"]}"
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        ("200 OK", NESTED, "application/json"),
        ("200 OK", ENVELOPE_NESTED, "text/html"),
        ("200 OK", HTML, "text/html"),
        ("503 Service Unavailable", HTML, "text/html"),
        ("503 Service Unavailable", NESTED, "application/json"),
        ("200 OK", b"\xff\xfe\x00garbage\x80", "application/json"),
    ],
    ids=["nested-200", "nested-in-envelope", "html-200", "html-503", "nested-503", "not-utf8"],
)
def test_bricklink_malformed_answers_are_classified(hostile, status, body, content_type):
    hostile.scenarios["bad"] = fixed(hostile.server, status, body, content_type)
    error = run_bounded(hostile.call("bricklink", "bad"))
    assert isinstance(error, TransientError)
    assert error.retryable
    assert error.http_status == int(status.split()[0])


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        ("200 OK", NESTED, "application/json"),
        ("200 OK", HTML, "text/html"),
        ("503 Service Unavailable", HTML, "text/html"),
        ("503 Service Unavailable", NESTED, "application/json"),
    ],
    ids=["nested-200", "html-200", "html-503", "nested-503"],
)
def test_brickowl_malformed_answers_are_classified(hostile, status, body, content_type):
    hostile.scenarios["bad"] = fixed(hostile.server, status, body, content_type)
    error = run_bounded(hostile.call("brickowl", "bad"))
    assert isinstance(error, TransientError)
    assert error.http_status == int(status.split()[0])


@pytest.mark.parametrize(
    "data",
    [
        b'{"no": "3001", "year_released": Infinity, "category_id": 1e999}',  # floats overflow
        b'{"no": "3001", "year_released": 99999999999999999999999999}',
    ],
    ids=["infinity", "huge-optional"],
)
def test_bricklink_out_of_range_optional_numbers_become_null(hostile, data):
    body = b'{"meta": {"code": 200}, "data": ' + data + b"}"
    hostile.scenarios["odd"] = fixed(hostile.server, "200 OK", body)
    item = hostile.bricklink("odd").item("3001")
    assert item.year_released is None


@pytest.mark.parametrize(
    "value",
    [b'"1e50000"', b"Infinity", b"NaN", b'"' + b"9" * 5000 + b'"', b"1e5000", b"[1]"],
    ids=["exponent", "infinity", "nan", "5000-digits", "float-overflow", "list"],
)
def test_bricklink_unusable_required_integers_are_malformed_not_crashes(hostile, value):
    """``int(Decimal("1e999999999"))`` builds a billion-digit number holding the GIL for
    minutes (``"1e50000"`` here: the same path, in milliseconds); ``int(inf)`` raises
    OverflowError. Each must be a classified error."""
    body = b'{"meta": {"code": 200}, "data": [{"color_id": ' + value + b', "quantity": 1}]}'
    hostile.scenarios["ints"] = fixed(hostile.server, "200 OK", body)
    client = hostile.bricklink("ints")
    error = run_bounded(lambda: client.known_colors("3001"), limit=10)
    assert isinstance(error, TransientError)
    assert "malformed" in error.message


def test_a_meta_code_that_is_not_a_finite_number_is_classified(hostile):
    hostile.scenarios["meta"] = fixed(hostile.server, "200 OK", b'{"meta": {"code": Infinity}}')
    error = run_bounded(hostile.call("bricklink", "meta"))
    assert isinstance(error, TransientError)


def test_brickowl_odd_color_ids_are_skipped_not_crashes(hostile):
    superscript_two = "\u00b2".encode()  # "²".isdigit() is true, int("²") raises
    body = (
        b'{"1": {"id": "1", "name": "White", "bl_ids": ["' + superscript_two + b'", '
        b'"99999999999999999999", 1]}, "2": {"id": 2, "name": "Tan", "bl_ids": 7}}'
    )
    hostile.scenarios["colors"] = fixed(hostile.server, "200 OK", body)
    colors = hostile.brickowl("colors").color_list()
    assert [(c.id, c.bl_ids) for c in colors] == [(1, (1,)), (2, ())]


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_a_redirect_to_localhost_is_not_followed(hostile, status):
    target = f"http://127.0.0.1:{hostile.port}/stolen/loot"
    hostile.scenarios["moved"] = fixed(hostile.server, status, b"", Location=target)
    error = run_bounded(hostile.call("bricklink", "moved"))
    assert isinstance(error, BadRequest)
    assert not error.retryable
    assert "redirect" in error.message
    # BrickOwl's key travels in the query: following would hand it to the redirect's target.
    owl_error = run_bounded(hostile.call("brickowl", "moved"))
    assert isinstance(owl_error, BadRequest)
    assert hostile.hits["moved"] == 2
    assert hostile.hits["stolen"] == 0
    assert OWL_KEY not in str(owl_error)
    assert target not in str(owl_error)


# --- Retry-After -------------------------------------------------------------------------------

MALFORMED_RETRY_AFTER = [
    "soon",
    "-5",
    "1e400",
    "NaN",
    "inf",
    "",
    "   ",
    "99999999999999999999999",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 99999999 00:00:00 GMT",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Thu, 32 Foo 2026 25:61:61 GMT",
    "\x00",
    "1" * 5000,
]


@pytest.mark.parametrize("value", MALFORMED_RETRY_AFTER)
def test_parse_retry_after_tolerates_anything_and_caps_every_wait(value):
    seconds = parse_retry_after(value, default=60.0, cap=900.0)
    assert 0.0 <= seconds <= 900.0


@pytest.mark.parametrize("value", ["soon", "1e400", "Fri, 31 Dec 9999 23:59:59 GMT", "-5"])
def test_a_429_with_a_malformed_retry_after_is_rate_limited_within_the_cap(hostile, value):
    from marketplaces import bricklink as bl
    from marketplaces import brickowl as bo

    body = b'{"meta": {"code": 429, "message": "TOO_MANY_REQUESTS"}}'
    hostile.scenarios["slow-down"] = fixed(
        hostile.server, "429 Too Many Requests", body, Retry_After=value
    )
    error = run_bounded(hostile.call("bricklink", "slow-down"))
    assert isinstance(error, RateLimited)
    assert 0 <= error.retry_after <= bl.MAX_RETRY_AFTER
    owl_error = run_bounded(hostile.call("brickowl", "slow-down"))
    assert isinstance(owl_error, RateLimited)
    assert 0 <= owl_error.retry_after <= bo.MAX_RETRY_AFTER


# --- retries reschedule, never sleep -----------------------------------------------------------

# Where sleeping is legitimate: ``?wait=N`` of a catalog read holds a *web* request (at most
# 10 s, by contract); the sandbox imitates latency and hangs.
# reads.py: a request's ?wait=; uploads.py: an upload holding a chunk of hundreds of syncs
# waits out its limit's pace when the next token is at most 2 s away (bounded by its 60 s
# run), instead of putting the chunk back for one call a time.
SLEEP_ALLOWED = {"catalog/services/reads.py", "inventory/uploads.py"}


def test_no_worker_code_sleeps_to_wait_for_a_retry():
    """Retries and rate-limit waits are rescheduled (a countdown, the drain, the sweeper):
    a worker that slept would hold its process and its task's time limit."""
    offenders = []
    for package in ("catalog", "inventory", "marketplaces", "outbox", "ratelimit"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("marketplaces/sandbox/") or relative in SLEEP_ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\bsleep\s*\(", line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
