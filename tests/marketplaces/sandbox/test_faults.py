"""The sandbox's faults: answered, hung, applied then unanswered; capped, seeded, matched."""

from __future__ import annotations

import time

import pytest
import requests

from marketplaces.sandbox.catalog import build_catalog
from tests.marketplaces.sandbox.wire import (
    CREDS,
    OWL_KEY,
    bricklink_create,
    create_lot,
    get,
    meta,
    owl_post,
    put_lot,
)


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "http_429"])
def test_bricklink_answered_faults_apply_nothing(bl, sandbox, fault):
    sandbox.control(faults=[{"provider": "bricklink", "path": "^/inventories", fault: 1}])
    response = bricklink_create(bl)
    expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
    assert response.status_code == expected[fault]
    if fault == "error_500":
        assert meta(response)["message"] == "INTERNAL_SERVER_ERROR"
    if fault == "html_503":
        assert b"503 Service Temporarily Unavailable" in response.content
    if fault == "malformed_json":
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    if fault == "http_429":
        assert response.headers["Retry-After"] == "2"
        assert meta(response)["code"] == 429
    assert sandbox.inventory("bricklink", CREDS["consumer_key"]) == []
    assert sandbox.ledger() == []
    assert sandbox.calls()["faults"] == {fault: 1}


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "http_429"])
def test_brickowl_answered_faults_apply_nothing(owl, sandbox, fault):
    sandbox.control(faults=[{"provider": "brickowl", "method": "POST", fault: 1}])
    boid = build_catalog(1).item("PART", "3001").boid
    response = owl_post(
        owl, "create", boid=boid, color_id="38", quantity="1", price="1", condition="new"
    )
    expected = {"error_500": 500, "html_503": 503, "malformed_json": 200, "http_429": 429}
    assert response.status_code == expected[fault]
    if fault == "error_500":
        assert response.json() == {"error": "Internal Server Error"}
    if fault == "http_429":
        assert response.headers["Retry-After"] == "2"
    assert sandbox.inventory("brickowl", OWL_KEY) == []


@pytest.mark.parametrize("provider", ["bricklink", "brickowl"])
def test_hang_answers_nothing_and_applies_nothing(bl, owl, sandbox, provider):
    sandbox.control(faults=[{"provider": provider, "hang": 1, "hang_seconds": 1}])
    boid = build_catalog(1).item("PART", "3001").boid
    form = {
        "key": OWL_KEY,
        "boid": boid,
        "color_id": "38",
        "quantity": "1",
        "price": "1",
        "condition": "new",
    }
    send = {
        "bricklink": lambda: bricklink_create(bl, timeout=0.5),
        "brickowl": lambda: owl.post(f"{owl.base}/inventory/create", data=form, timeout=0.5),
    }[provider]
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        send()
    assert time.monotonic() - started < 1.0
    assert sandbox.ledger() == []
    assert sandbox.calls()["faults"] == {"hang": 1}


def test_hang_closes_the_connection_without_a_response(sandbox):
    sandbox.control(faults=[{"provider": "brickowl", "hang": 1, "hang_seconds": 0.3}])
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{sandbox.brickowl_url}/catalog/color_list", params={"key": OWL_KEY}, timeout=5
        )


def test_bricklink_apply_then_timeout_applies_but_never_answers(bl, sandbox):
    lot = create_lot(bl)
    sandbox.control(
        faults=[
            {"provider": "bricklink", "method": "PUT", "apply_then_timeout": 1, "hang_seconds": 1}
        ]
    )
    with pytest.raises(requests.Timeout):
        put_lot(bl, lot["inventory_id"], {"quantity": "+3", "description": ""}, timeout=0.5)
    last = sandbox.ledger()[-1]
    assert (last["op"], last["lot_id"], last["quantity_before"], last["quantity_after"]) == (
        "update",
        lot["inventory_id"],
        5,
        8,
    )
    assert last["fields"] == {"quantity": "+3", "description": ""}
    [stored] = sandbox.inventory("bricklink", CREDS["consumer_key"])
    assert stored["quantity"] == 8


def test_brickowl_apply_then_timeout_leaves_the_lot_created(owl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "brickowl", "path": "create", "apply_then_timeout": 1, "hang_seconds": 1}
        ]
    )
    boid = build_catalog(1).item("PART", "3001").boid
    with pytest.raises(requests.Timeout):
        owl.post(
            f"{owl.base}/inventory/create",
            data={
                "key": OWL_KEY,
                "boid": boid,
                "color_id": "38",
                "quantity": "2",
                "price": "1",
                "condition": "new",
                "external_id": "brickops-7",
            },
            timeout=0.5,
        )
    assert [entry["op"] for entry in sandbox.ledger()] == ["create"]
    [lot] = sandbox.inventory("brickowl", OWL_KEY)
    assert lot["external_lot_ids"] == {"other": "brickops-7"}


def test_fault_times_caps_the_injections(bl, sandbox):
    sandbox.control(
        faults=[{"provider": "bricklink", "path": "^/colors", "error_500": 1, "times": 2}]
    )
    statuses = [get(bl, "/colors").status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert sandbox.control()["faults"][0]["injected"] == 2


def test_fault_after_lets_that_many_matching_calls_through_first(bl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "bricklink", "path": "^/colors", "error_500": 1, "after": 2, "times": 1},
        ]
    )
    assert get(bl, "/items/PART/3001").status_code == 200  # not a match: not counted
    statuses = [get(bl, "/colors").status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]
    assert sandbox.control()["faults"][0]["after"] == 2


def test_faults_replay_with_the_same_seed(bl, sandbox):
    rule = {"provider": "bricklink", "path": "^/colors", "error_500": 0.5}

    def run() -> list[int]:
        sandbox.control(reset=True, faults=[rule])
        return [get(bl, "/colors").status_code for _ in range(16)]

    first = run()
    assert run() == first
    assert {200, 500} <= set(first)


def test_a_fault_seed_replays_its_own_faults_over_the_same_catalog(bl, sandbox):
    rule = {"provider": "bricklink", "path": "^/colors", "error_500": 0.5}

    def run(**seeds) -> tuple[list[int], bytes]:
        sandbox.control(reset=True, faults=[rule], **seeds)
        statuses = [get(bl, "/colors").status_code for _ in range(24)]
        sandbox.control(faults=[])
        return statuses, get(bl, "/items/PART/3001").content

    default, part = run()
    seven, part_seven = run(fault_seed=7)
    assert run(fault_seed=7) == (seven, part_seven)  # the same seed, the same faults
    assert seven != default  # another sequence of faults...
    assert part_seven == part  # ...over the same catalog
    assert sandbox.control(fault_seed=7)["fault_seed"] == 7
    assert sandbox.reset()["fault_seed"] is None


def test_fault_rules_match_method_and_path(bl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "bricklink", "method": "POST", "path": "^/inventories", "error_500": 1}
        ]
    )
    assert get(bl, "/inventories").status_code == 200
    assert get(bl, "/items/PART/3001").status_code == 200
    assert bricklink_create(bl).status_code == 500


def test_latency_is_added_to_api_calls_only(bl, sandbox):
    sandbox.control(latency={"fixed_ms": 300, "random_ms": 0})
    started = time.monotonic()
    get(bl, "/colors")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sandbox.calls()
    assert time.monotonic() - started < 0.3
