"""Order pushes from the sandbox to a store's push URL, and /_orders' own housekeeping."""

from __future__ import annotations

import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.marketplaces.sandbox.wire import CREDS, OWL_KEY, TIMEOUT, create_lot, get, owl_create

ACCOUNT = CREDS["consumer_key"]


class Receiver:
    """A local HTTP server standing in for our hook: it records every request it gets."""

    def __init__(self, delay: float = 0.0) -> None:
        received: queue.Queue[dict] = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                url = urlsplit(self.path)
                received.put(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                        "content_length": self.headers.get("Content-Length"),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                time.sleep(delay)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def next(self, timeout: float = 5) -> dict:
        return self.received.get(timeout=timeout)

    def nothing_more(self, wait: float = 0.3) -> bool:
        time.sleep(wait)
        return self.received.empty()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def place(sandbox, provider: str, account: str, lot_id) -> dict:
    return sandbox.order_change(
        op="place",
        provider=provider,
        account=account,
        buyer="jane",
        lines=[{"lot_id": lot_id, "quantity": 1}],
    )


def wait_for_outcomes(sandbox, provider: str, account: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        pushes = sandbox.orders(provider, account)["pushes"]
        if sum(p["outcome"] != "sending" for p in pushes) >= count or time.monotonic() > deadline:
            return pushes
        time.sleep(0.05)


def test_bricklink_push_is_an_empty_post_to_the_callback_url(bl, sandbox, receiver):
    hook = receiver.url("/api/v1/hooks/bricklink/s3cret/")
    assert sandbox.control(push_urls={ACCOUNT: hook})["push_urls"] == {ACCOUNT: hook}
    lot = create_lot(bl, quantity=5)
    placed = place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])
    assert placed["push"] == "scheduled"
    push = receiver.next()
    assert (push["method"], push["path"]) == ("POST", "/api/v1/hooks/bricklink/s3cret/")
    assert (push["body"], push["content_length"], push["query"]) == (b"", "0", {})

    order_id = placed["order_id"]
    for op, extra in (("status", {"status": "PAID"}), ("cancel", {})):
        answer = sandbox.order_change(
            op=op, provider="bricklink", account=ACCOUNT, order_id=order_id, **extra
        )
        assert answer["push"] == "scheduled"
        assert receiver.next()["method"] == "POST"
    filed = sandbox.order_change(
        op="file", provider="bricklink", account=ACCOUNT, order_id=order_id, filed=True
    )
    assert filed["push"] == "none"
    assert receiver.nothing_more()
    pushes = wait_for_outcomes(sandbox, "bricklink", ACCOUNT, 3)
    assert [(p["order_id"], p["outcome"]) for p in pushes] == [(order_id, "sent 204")] * 3
    # The push only says "look now": the notifications are where the events are.
    notes = get(bl, "/notifications").json()["data"]
    assert [note["resource_id"] for note in notes] == [order_id] * 3


def test_brickowl_push_is_a_get_with_the_order_and_store_ids(owl, sandbox, receiver):
    hook = receiver.url("/api/v1/hooks/brickowl/s3cret/")
    sandbox.control(push_urls={OWL_KEY: hook})
    placed = place(sandbox, "brickowl", OWL_KEY, owl_create(owl, quantity="3"))
    assert placed["push"] == "scheduled"
    push = receiver.next()
    store_id = get(owl, "/order/view", key=OWL_KEY, order_id=placed["order_id"]).json()["store_id"]
    assert (push["method"], push["path"]) == ("GET", "/api/v1/hooks/brickowl/s3cret/")
    assert push["query"] == {"order_id": placed["order_id"], "store_id": store_id}
    changed = sandbox.order_change(
        op="status", provider="brickowl", account=OWL_KEY, order_id=placed["order_id"], status=5
    )
    assert changed["push"] == "none"  # BrickOwl pushes a placed order only
    assert receiver.nothing_more()


def test_pushes_can_be_switched_off_or_dropped_and_polling_still_finds_the_orders(
    bl, sandbox, receiver
):
    sandbox.control(push_urls={ACCOUNT: receiver.url("/hook")}, push_enabled=False)
    lot = create_lot(bl, quantity=30)
    assert place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["push"] == "disabled"
    sandbox.control(push_enabled=True, push_drop_rate=1)
    assert place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["push"] == "dropped"
    assert receiver.nothing_more()
    assert len(get(bl, "/notifications").json()["data"]) == 2
    assert len(get(bl, "/orders").json()["data"]) == 2

    sandbox.control(push_drop_rate=0.5)
    decisions = [
        place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["push"] for _ in range(20)
    ]
    sent = decisions.count("scheduled")
    assert 0 < sent < 20
    assert decisions.count("dropped") == 20 - sent
    assert all(receiver.next()["method"] == "POST" for _ in range(sent))
    assert receiver.nothing_more()


def test_a_slow_or_dead_receiver_never_holds_up_the_control_call(bl, sandbox):
    slow = Receiver(delay=2)
    try:
        sandbox.control(push_urls={ACCOUNT: slow.url("/slow")})
        lot = create_lot(bl, quantity=5)
        started = time.monotonic()
        assert place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["push"] == "scheduled"
        assert time.monotonic() - started < 1
        assert slow.next()["path"] == "/slow"
    finally:
        slow.stop()
    dead = Receiver()
    dead_url = dead.url("/gone")
    dead.stop()
    sandbox.control(push_urls={ACCOUNT: dead_url})
    assert place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["push"] == "scheduled"
    outcomes = [p["outcome"] for p in wait_for_outcomes(sandbox, "bricklink", ACCOUNT, 2)]
    assert outcomes[-1].startswith("failed")
    assert len(get(bl, "/notifications").json()["data"]) == 2  # nothing lost but the push


def test_reset_forgets_orders_notifications_and_push_urls_but_never_reuses_an_order_id(
    bl, owl, sandbox
):
    sandbox.control(push_urls={ACCOUNT: "http://127.0.0.1:9/hook", OWL_KEY: ""})
    lot = create_lot(bl, quantity=5)
    first = place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["order_id"]
    owl_first = place(sandbox, "brickowl", OWL_KEY, owl_create(owl))["order_id"]
    config = sandbox.reset()
    assert (config["push_urls"], config["push_enabled"], config["push_drop_rate"]) == ({}, True, 0)
    assert sandbox.orders("bricklink", ACCOUNT) == {"orders": [], "notifications": [], "pushes": []}
    assert get(bl, "/orders").json()["data"] == []
    assert get(bl, "/notifications").json()["data"] == []
    assert get(owl, "/order/list", key=OWL_KEY).json() == []
    lot = create_lot(bl, quantity=5)
    assert place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["order_id"] > first
    owl_again = place(sandbox, "brickowl", OWL_KEY, owl_create(owl))["order_id"]
    assert int(owl_again) > int(owl_first)


def test_orders_control_lists_a_store_and_refuses_bad_settings(bl, sandbox):
    lot = create_lot(bl, quantity=5)
    order_id = place(sandbox, "bricklink", ACCOUNT, lot["inventory_id"])["order_id"]
    [entry] = sandbox.orders("bricklink", ACCOUNT)["orders"]
    assert entry["order"]["order_id"] == order_id
    assert entry["order"] == get(bl, f"/orders/{order_id}").json()["data"]
    assert entry["items"] == get(bl, f"/orders/{order_id}/items").json()["data"]
    unknown = sandbox.session.get(
        f"{sandbox.url}/_orders",
        params={"provider": "bricklink", "account": "nobody"},
        timeout=TIMEOUT,
    )
    assert unknown.status_code == 404
    before = sandbox.control()
    for bad in (
        {"push_urls": ["http://x"]},
        {"push_urls": {ACCOUNT: "ftp://x"}},
        {"push_drop_rate": 2},
        {"push_enabled": "yes"},
    ):
        response = sandbox.session.post(f"{sandbox.url}/_control", json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad
    assert sandbox.control() == before
    assert sandbox.calls()["by_endpoint"].keys() == {
        "POST /bricklink/inventories",
        "GET /bricklink/orders/{id}",
        "GET /bricklink/orders/{id}/items",
    }  # /_orders is never counted
