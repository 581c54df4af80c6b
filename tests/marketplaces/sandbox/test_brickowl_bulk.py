"""BrickOwl's bulk/batch in the sandbox: each request answered in its place, the batch refused
as a whole, its own rate limit, its counting, and faults on the batch call."""

from __future__ import annotations

import json
import time

import pytest
import requests

from marketplaces.sandbox.catalog import build_catalog
from tests.marketplaces.sandbox.wire import OWL_KEY, TIMEOUT, get, owl_create

CATALOG = build_catalog(1)


def batch(owl, entries=None, *, key=OWL_KEY, raw=None, timeout=TIMEOUT):
    requests_field = raw if raw is not None else json.dumps({"requests": entries})
    return owl.post(
        f"{owl.base}/bulk/batch", data={"key": key, "requests": requests_field}, timeout=timeout
    )


def create(external: str, *, no: str = "3001", color: int = 11, quantity=2, **extra) -> dict:
    params = {
        "boid": CATALOG.item("PART", no).boid,
        "color_id": CATALOG.colors[color].brickowl_id,
        "quantity": quantity,
        "price": "0.5",
        "condition": "new",
        "external_id": external,
        **extra,
    }
    return {"endpoint": "inventory/create", "request_method": "POST", "params": [params]}


def store(sandbox) -> dict[str, dict]:
    lots = sandbox.inventory("brickowl", OWL_KEY)
    return {lot["external_lot_ids"]["other"]: lot for lot in lots if lot["external_lot_ids"]}


def test_brickowl_batch_runs_each_request_in_order_and_answers_each(owl, sandbox):
    response = batch(
        owl,
        [
            create("e1"),
            create("e2", no="3003", color=5, quantity=4),
            {
                "endpoint": "inventory/list",
                "request_method": "GET",
                "params": [{"external_id_1": "e1"}],
            },
            {
                "endpoint": "inventory/update",
                "request_method": "POST",
                "params": [{"external_id": "e1", "absolute_quantity": 7}],
            },
        ],
    )
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert [(a["endpoint"], a["request_method"], a["status_code"]) for a in answers] == [
        ("inventory/create", "POST", 200),
        ("inventory/create", "POST", 200),
        ("inventory/list", "GET", 200),
        ("inventory/update", "POST", 200),
    ]
    first, second = answers[0]["body"], answers[1]["body"]
    assert first["status"] == second["status"] == "success"
    assert [lot["lot_id"] for lot in answers[2]["body"]] == [first["lot_id"]]  # sees the create
    assert answers[3]["body"] == {"status": "success"}
    lots = store(sandbox)
    assert (lots["e1"]["qty"], lots["e2"]["qty"]) == ("7", "4")
    assert lots["e1"]["lot_id"] == first["lot_id"]
    ledger = sandbox.ledger()
    assert [entry["op"] for entry in ledger] == ["create", "create", "update"]
    assert ledger[0]["fields"]["quantity"] == "2"  # params arrive as a form carries them
    assert ledger[2]["fields"] == {"external_id": "e1", "absolute_quantity": "7"}
    assert (ledger[2]["quantity_before"], ledger[2]["quantity_after"]) == (2, 7)
    calls = sandbox.calls()
    assert calls["total"] == 1
    assert calls["by_endpoint"] == {"POST /brickowl/bulk/batch": 1}
    assert calls["batched"] == {
        "POST /brickowl/inventory/create": 2,
        "GET /brickowl/inventory/list": 1,
        "POST /brickowl/inventory/update": 1,
    }


def test_brickowl_batch_answers_a_bad_request_in_its_place_and_runs_the_others(owl, sandbox):
    entries = [
        create("good-1"),
        create("unknown-boid", boid="000000"),
        {"endpoint": "inventory/update", "request_method": "POST", "params": [{"lot_id": "9"}]},
        {"endpoint": "inventory/nope", "request_method": "POST", "params": [{}]},
        {"endpoint": "inventory/create", "request_method": "PUT", "params": [{}]},
        {"endpoint": "inventory/create", "request_method": "POST", "params": {"boid": "1"}},
        {"endpoint": "bulk/batch", "request_method": "POST", "params": [{}]},
        {"endpoint": "inventory/create", "request_method": "GET", "params": []},
        "not an object",
        create("good-2", quantity=0),  # quantity must be above 0
        create("good-3"),
    ]
    response = batch(owl, entries)
    assert response.status_code == 200  # a batch with failed requests is still answered 200
    answers = response.json()["responses"]
    statuses = [a["status_code"] for a in answers]
    assert statuses == [200, 400, 404, 404, 400, 400, 400, 405, 400, 400, 200]
    assert answers[1]["body"] == {"error": "Unknown boid '000000'"}
    assert answers[2]["body"] == {"error": "Lot not found"}
    assert all(set(a["body"]) == {"error"} for a in answers[1:10])
    assert set(store(sandbox)) == {"good-1", "good-3"}
    assert [entry["op"] for entry in sandbox.ledger()] == ["create", "create"]


@pytest.mark.parametrize(
    "raw",
    [
        None,  # more than 50 requests
        "",  # no requests at all
        "{not json",
        json.dumps([{"endpoint": "inventory/create"}]),  # a bare list, not {"requests": [...]}
        json.dumps({"requests": []}),
    ],
)
def test_brickowl_batch_is_refused_as_a_whole_and_applies_nothing(owl, sandbox, raw):
    if raw is None:
        response = batch(owl, [create(f"e{n}") for n in range(51)])
        assert "at most 50" in response.json()["error"]
    else:
        response = batch(owl, raw=raw)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert sandbox.inventory("brickowl", OWL_KEY) == []
    assert sandbox.calls()["batched"] == {}


def test_brickowl_batch_needs_the_key_and_a_post(owl, sandbox):
    assert batch(owl, [create("e1")], key="wrong").status_code == 403
    assert get(owl, "/bulk/batch", key=OWL_KEY).status_code == 405
    assert batch(owl, [create(f"e{n}") for n in range(50)]).status_code == 200  # 50 is fine
    assert len(sandbox.inventory("brickowl", OWL_KEY)) == 50


def test_brickowl_batch_answer_can_be_a_bare_list_of_bodies(owl, sandbox):
    assert sandbox.control(brickowl_batch_answer="list")["brickowl_batch_answer"] == "list"
    response = batch(owl, [create("e1"), create("e2", boid="000000")])
    first, second = response.json()
    assert first["status"] == "success"
    assert first["lot_id"]
    assert second == {"error": "Unknown boid '000000'"}
    assert sandbox.reset()["brickowl_batch_answer"] == "responses"


def test_brickowl_batches_have_a_rate_limit_of_their_own(owl, sandbox):
    config = sandbox.control(brickowl_batch_rate_per_minute=2, brickowl_rate_per_minute=3)
    assert config["brickowl_batch_rate_per_minute"] == 2
    many = [create(f"e{n}") for n in range(10)]
    assert [batch(owl, many[:5]).status_code, batch(owl, many[5:]).status_code] == [200, 200]
    refused = batch(owl, [create("late")])
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Neither the batches nor their 10 requests used the single calls' minute.
    singles = [get(owl, "/catalog/color_list", key=OWL_KEY).status_code for _ in range(4)]
    assert singles == [200, 200, 200, 429]
    assert sandbox.calls()["refused"] == {"brickowl_batch_rate_429": 1, "brickowl_rate_429": 1}
    assert len(sandbox.inventory("brickowl", OWL_KEY)) == 10


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "http_429", "hang"])
def test_brickowl_batch_faults_apply_to_the_whole_call_and_nothing_is_applied(owl, sandbox, fault):
    sandbox.control(
        faults=[{"provider": "brickowl", "path": "^/bulk/batch", fault: 1, "hang_seconds": 1}]
    )
    if fault == "hang":
        with pytest.raises(requests.Timeout):
            batch(owl, [create("e1"), create("e2")], timeout=0.5)
    else:
        expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
        assert batch(owl, [create("e1"), create("e2")]).status_code == expected[fault]
    assert sandbox.inventory("brickowl", OWL_KEY) == []
    assert sandbox.ledger() == []
    assert sandbox.calls()["faults"] == {fault: 1}


def test_brickowl_batch_apply_then_timeout_applies_every_request_and_never_answers(owl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "brickowl", "path": "batch", "apply_then_timeout": 1, "hang_seconds": 1}
        ]
    )
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        batch(owl, [create("e1"), create("e2", quantity=3)], timeout=0.5)
    assert time.monotonic() - started < 1.0
    assert {key: lot["qty"] for key, lot in store(sandbox).items()} == {"e1": "2", "e2": "3"}
    assert [(entry["op"], entry["fields"]["external_id"]) for entry in sandbox.ledger()] == [
        ("create", "e1"),
        ("create", "e2"),
    ]
    assert sandbox.calls()["faults"] == {"apply_then_timeout": 1}


def test_a_fault_rule_on_an_endpoint_does_not_reach_into_batches(owl, sandbox):
    sandbox.control(faults=[{"provider": "brickowl", "path": "^/inventory/create", "error_500": 1}])
    assert batch(owl, [create("e1")]).json()["responses"][0]["status_code"] == 200
    with pytest.raises(AssertionError):
        owl_create(owl, external_id="single")  # the single call is faulted
    assert set(store(sandbox)) == {"e1"}
