"""BrickLink in the sandbox: OAuth, the error mode, the daily quota, the in-flight cap."""

from __future__ import annotations

import threading
import time

import requests

from tests.marketplaces.sandbox.wire import TIMEOUT, get, meta, oauth

# --- BrickLink: OAuth ----------------------------------------------------------------------


def test_bricklink_signed_call_succeeds_labelled_text_html(bl):
    response = get(bl, "/items/PART/3001")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert meta(response) == {"code": 200, "message": "OK", "description": "OK"}
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_bricklink_bad_signature_is_meta_401_with_http_200(sandbox):
    response = requests.get(
        f"{sandbox.bricklink_url}/colors",
        auth=oauth(consumer_secret="not-the-secret"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert meta(response)["code"] == 401
    assert meta(response)["message"] == "BAD_OAUTH_REQUEST"
    assert meta(response)["description"].startswith("SIGNATURE_INVALID:")
    assert "data" not in response.json()


def test_bricklink_unsigned_and_unknown_credentials_are_refused(sandbox):
    url = f"{sandbox.bricklink_url}/colors"
    unsigned = requests.get(url, timeout=TIMEOUT)
    stranger = requests.get(url, auth=oauth(consumer_key="who-is-this"), timeout=TIMEOUT)
    wrong_token = requests.get(url, auth=oauth(token_value="not-my-token"), timeout=TIMEOUT)
    assert meta(unsigned)["description"].startswith("SIGNATURE_INVALID:")
    assert meta(stranger)["description"].startswith("CONSUMER_KEY_UNKNOWN:")
    assert meta(wrong_token)["description"].startswith("TOKEN_VALUE_UNKNOWN:")


def test_bricklink_reused_nonce_is_refused(sandbox):
    fixed = oauth(nonce="fixed-nonce-1234567890", timestamp=str(int(time.time())))
    url = f"{sandbox.bricklink_url}/colors"
    first = requests.get(url, auth=fixed, timeout=TIMEOUT)
    again = requests.get(url, auth=fixed, timeout=TIMEOUT)
    assert meta(first)["code"] == 200
    assert meta(again)["code"] == 401
    assert meta(again)["description"].startswith("NONCE_USED:")


def test_bricklink_stale_timestamp_is_refused(sandbox):
    stale = oauth(timestamp=str(int(time.time()) - 1000))
    response = requests.get(f"{sandbox.bricklink_url}/colors", auth=stale, timeout=TIMEOUT)
    assert meta(response)["code"] == 401
    assert meta(response)["description"].startswith("TIMESTAMP_REFUSED:")


def test_bricklink_real_error_mode_answers_the_meta_code_as_http_status(bl, sandbox):
    sandbox.control(bricklink_error_http_status="real")
    missing = get(bl, "/items/PART/9999999")
    unsigned = requests.get(f"{sandbox.bricklink_url}/colors", timeout=TIMEOUT)
    assert (missing.status_code, meta(missing)["code"]) == (404, 404)
    assert (unsigned.status_code, meta(unsigned)["code"]) == (401, 401)
    assert get(bl, "/colors").status_code == 200


# --- BrickLink: quota and concurrency ------------------------------------------------------


def test_bricklink_quota_in_200_mode_is_meta_429(bl, sandbox):
    sandbox.control(bricklink_quota=2)
    assert [meta(get(bl, "/colors"))["code"] for _ in range(2)] == [200, 200]
    refused = get(bl, "/colors")
    assert refused.status_code == 200
    assert meta(refused)["code"] == 429
    assert meta(refused)["message"] == "TOO_MANY_REQUESTS"
    assert "quota" in meta(refused)["description"]
    assert sandbox.calls()["by_endpoint"]["GET /bricklink/colors"] == 3


def test_bricklink_quota_in_real_mode_is_http_429_until_utc_midnight(bl, sandbox):
    sandbox.control(bricklink_quota=1, bricklink_error_http_status="real")
    get(bl, "/colors")
    refused = get(bl, "/colors")
    assert refused.status_code == 429
    assert meta(refused)["code"] == 429
    now = time.time()
    until_midnight = 86400 - now % 86400
    assert abs(int(refused.headers["Retry-After"]) - until_midnight) <= 2


def test_bricklink_quota_is_per_consumer_key(bl, sandbox):
    other = {
        "consumer_key": "ck-2",
        "consumer_secret": "cs-2",
        "token_value": "tv-2",
        "token_secret": "ts-2",
    }
    sandbox.control(bricklink_quota=1, bricklink_credentials=[other])
    assert meta(get(bl, "/colors"))["code"] == 200
    assert meta(get(bl, "/colors"))["code"] == 429
    second = requests.get(f"{sandbox.bricklink_url}/colors", auth=oauth(**other), timeout=5)
    assert meta(second)["code"] == 200
    assert sandbox.calls()["by_account"] == {"sandbox-consumer-key": 2, "ck-2": 1}


def test_bricklink_more_than_five_in_flight_get_nginx_503_pages(sandbox):
    # Long enough that all ten overlap even when a loaded machine staggers their starts
    # (seen failing at 400 ms with both cores busy: no sixth request arrived in time).
    sandbox.control(latency={"fixed_ms": 1500, "random_ms": 0})
    barrier = threading.Barrier(10)
    results: list[requests.Response] = []

    def call() -> None:
        barrier.wait()
        results.append(
            requests.get(f"{sandbox.bricklink_url}/colors", auth=oauth(), timeout=TIMEOUT)
        )

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [r for r in results if r.status_code == 200]
    gateway = [r for r in results if r.status_code == 503]
    assert len(ok) >= 5
    assert gateway
    assert len(ok) + len(gateway) == 10
    assert gateway[0].headers["Content-Type"].startswith("text/html")
    assert b"<center>nginx</center>" in gateway[0].content
    calls = sandbox.calls()
    assert calls["by_endpoint"]["GET /bricklink/colors"] == 10
    assert calls["quota_used"]["sandbox-consumer-key"] == len(ok)  # 503s are free
