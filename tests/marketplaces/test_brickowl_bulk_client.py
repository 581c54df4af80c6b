"""The BrickOwl client's bulk/batch: the request it sends, both answer shapes, each inner
answer classified, the batch failing as a whole; then over HTTP against the sandbox. And the
BrickLink client's array POST against the sandbox."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses

from marketplaces.bricklink import BrickLinkClient, Credentials, NewLot
from marketplaces.brickowl import (
    BATCH_MAX,
    BatchRequest,
    BrickOwlClient,
    NewOwlLot,
    OwlLotUpdate,
)
from marketplaces.errors import BadRequest, NotFound, RateLimited, TransientError
from marketplaces.http import HttpConfig
from marketplaces.sandbox.catalog import build_catalog
from tests.harness import SandboxProcess

BASE = "https://owl.test/v1"
KEY = "owl-unit-secret-key"
CATALOG = build_catalog(1)
FAST = HttpConfig(connect_timeout=1, read_timeout=1.0, deadline=5)
ONE_ANSWER = {"status_code": 200, "body": {"status": "success"}}


@pytest.fixture
def client():
    return BrickOwlClient(KEY, base_url=BASE, http=HttpConfig(read_timeout=2, deadline=5))


@pytest.fixture
def brickowl(sandbox) -> BrickOwlClient:
    return BrickOwlClient(SandboxProcess.BRICKOWL_KEY, base_url=sandbox.brickowl_url, http=FAST)


def new_lot(external: str, *, boid: str = "771344", quantity: int = 2) -> NewOwlLot:
    return NewOwlLot(
        boid=boid,
        color_id=38,
        quantity=quantity,
        price=Decimal("0.25"),
        condition="new",
        external_id=external,
    )


def sandbox_lot(external: str, *, no: str = "3001", color: int = 11, quantity: int = 2):
    return NewOwlLot(
        boid=CATALOG.item("PART", no).boid,
        color_id=int(CATALOG.colors[color].brickowl_id),
        quantity=quantity,
        price=Decimal("0.5"),
        condition="usedn",
        external_id=external,
    )


def sent_batch(call) -> tuple[dict, dict]:
    form = {key: values[0] for key, values in parse_qs(call.request.body).items()}
    return form, json.loads(form.pop("requests"))


# --- unit: the request and the answers ----------------------------------------------------------


@responses.activate
def test_batch_sends_requests_as_json_in_the_form_beside_the_key(client):
    responses.add(
        "POST",
        BASE + "/bulk/batch",
        json={
            "responses": [
                {"endpoint": "inventory/create", "status_code": 200, "body": body}
                for body in ({"status": "success", "lot_id": "11"}, {"status": "success"})
            ]
        },
    )
    results = client.bulk_batch(
        [
            BatchRequest("inventory/create", new_lot("e1").as_form()),
            BatchRequest("inventory/update", {"lot_id": "11", "absolute_quantity": 3}),
        ]
    )
    assert [result.value for result in results] == [
        {"status": "success", "lot_id": "11"},
        {"status": "success"},
    ]
    form, batch = sent_batch(responses.calls[0])
    assert form == {"key": KEY}
    assert batch == {
        "requests": [
            {
                "endpoint": "inventory/create",
                "request_method": "POST",
                "params": [
                    {
                        "boid": "771344",
                        "color_id": 38,
                        "quantity": 2,
                        "price": "0.250",
                        "condition": "new",
                        "external_id": "e1",
                    }
                ],
            },
            {
                "endpoint": "inventory/update",
                "request_method": "POST",
                "params": [{"lot_id": "11", "absolute_quantity": 3}],
            },
        ]
    }


@pytest.mark.parametrize(
    "answer",
    [
        {"responses": [{"status_code": 200, "body": {"status": "success", "lot_id": "7"}}]},
        {"responses": [{"status_code": "200", "body": '{"status":"success","lot_id":"7"}'}]},
        [{"status_code": 200, "body": {"status": "success", "lot_id": "7"}}],
        [{"status": "success", "lot_id": "7"}],  # a bare list of bodies
    ],
)
@responses.activate
def test_create_batch_reads_either_answer_shape(client, answer):
    responses.add("POST", BASE + "/bulk/batch", json=answer)
    [result] = client.inventory_create_batch([new_lot("e1")])
    assert result.ok
    assert result.value == "7"


@responses.activate
def test_each_inner_answer_is_classified_on_its_own(client):
    responses.add(
        "POST",
        BASE + "/bulk/batch",
        json={
            "responses": [
                {"status_code": 200, "body": {"status": "success", "lot_id": "1"}},
                {"status_code": 400, "body": {"error": "Unknown boid"}},
                {"status_code": 404, "body": {"error": "Lot not found"}},
                {"status_code": 429, "body": {"error": "Slow down"}},
                {"status_code": 500, "body": {"error": "Internal Server Error"}},
                {"status_code": 200, "body": {"status": "error"}},  # no success: refused
                {"status_code": 200, "body": {"status": "success"}},  # created, no lot_id
                {"error": "Invalid condition"},  # a bare failing body
            ]
        },
    )
    results = client.inventory_create_batch([new_lot(f"e{n}") for n in range(8)])
    assert results[0].value == "1"
    assert [result.ok for result in results] == [True] + [False] * 7
    kinds = [type(result.error) for result in results[1:]]
    assert kinds == [
        BadRequest,
        NotFound,
        RateLimited,
        TransientError,
        BadRequest,
        TransientError,
        BadRequest,
    ]
    unknown, _, limited, failed, _, no_id, bare = (result.error for result in results[1:])
    assert "Unknown boid" in unknown.message
    assert (unknown.http_status, unknown.method, unknown.path) == (400, "POST", "/inventory/create")
    assert limited.retry_after == 60
    assert failed.ambiguous  # a 500 on a create may have created it
    assert no_id.ambiguous  # it did: look it up by external id
    assert not unknown.ambiguous
    assert "Invalid condition" in bare.message
    assert results[3].request.params["external_id"] == "e3"


@pytest.mark.parametrize(
    ("status", "answer", "error", "ambiguous"),
    [
        (200, {"responses": [ONE_ANSWER]}, TransientError, True),  # one answer, two requests
        (200, {"error": "Too many requests in batch"}, BadRequest, False),
        (200, {"unexpected": True}, TransientError, True),
        (400, {"error": "Missing requests"}, BadRequest, False),
        (500, {"error": "Internal Server Error"}, TransientError, True),
    ],
)
@responses.activate
def test_a_batch_failing_as_a_whole_raises(client, status, answer, error, ambiguous):
    responses.add("POST", BASE + "/bulk/batch", json=answer, status=status)
    updates = [OwlLotUpdate(lot_id="1", absolute_quantity=1), OwlLotUpdate(lot_id="2", price=1)]
    with pytest.raises(error) as caught:
        client.inventory_update_batch(updates)
    assert caught.value.ambiguous is ambiguous
    assert caught.value.path == "/bulk/batch"
    assert KEY not in str(caught.value)


@responses.activate
def test_batches_are_checked_before_any_call(client):
    assert client.inventory_create_batch([]) == []
    with pytest.raises(ValueError, match=f"at most {BATCH_MAX}"):
        client.inventory_delete_batch([str(n) for n in range(BATCH_MAX + 1)])
    with pytest.raises(ValueError, match="above 0"):
        new_lot("e1", quantity=0)
    with pytest.raises(ValueError, match="exactly one"):
        OwlLotUpdate(absolute_quantity=1)
    assert len(responses.calls) == 0


# --- against the sandbox ----------------------------------------------------------------------


def test_brickowl_create_update_delete_in_batches_against_the_sandbox(brickowl, sandbox):
    lots = [sandbox_lot("e1"), sandbox_lot("e2", no="3003", color=5), sandbox_lot("e3")]
    unknown = dataclasses.replace(sandbox_lot("e4"), boid="000000")
    created = brickowl.inventory_create_batch([*lots, unknown])
    assert [result.ok for result in created] == [True, True, True, False]
    assert isinstance(created[3].error, BadRequest)
    assert "Unknown boid" in created[3].error.message
    lot_ids = [result.value for result in created[:3]]
    listed = {lot.external_id: lot for lot in brickowl.inventory_list()}
    assert {key: lot.lot_id for key, lot in listed.items()} == dict(
        zip(("e1", "e2", "e3"), lot_ids, strict=True)
    )
    assert listed["e2"].condition == "usedn"

    updated = brickowl.inventory_update_batch(
        [
            OwlLotUpdate(lot_id=lot_ids[0], absolute_quantity=9),
            OwlLotUpdate(external_id="e2", price=Decimal("1.5"), for_sale=False),
            OwlLotUpdate(lot_id="999999", absolute_quantity=1),
        ]
    )
    assert [result.ok for result in updated] == [True, True, False]
    assert isinstance(updated[2].error, NotFound)
    listed = {lot.external_id: lot for lot in brickowl.inventory_list()}
    assert listed["e1"].quantity == 9
    assert (listed["e2"].price, listed["e2"].for_sale) == (Decimal("1.500"), False)

    deleted = brickowl.inventory_delete_batch(lot_ids[:2])
    assert all(result.ok for result in deleted)
    assert [lot.external_id for lot in brickowl.inventory_list()] == ["e3"]
    assert sandbox.calls()["by_endpoint"]["POST /brickowl/bulk/batch"] == 3


def test_brickowl_batch_reads_the_sandboxs_bare_list_answers(brickowl, sandbox):
    sandbox.control(brickowl_batch_answer="list")
    unknown = dataclasses.replace(sandbox_lot("e2"), boid="000000")
    created = brickowl.inventory_create_batch([sandbox_lot("e1"), unknown])
    assert created[0].ok
    assert created[0].value == brickowl.inventory_list(external_id="e1")[0].lot_id
    assert not created[1].ok
    assert isinstance(created[1].error, BadRequest)
    assert "Unknown boid" in created[1].error.message


def test_brickowl_batch_applied_then_unanswered_is_ambiguous_and_the_lots_exist(brickowl, sandbox):
    sandbox.control(
        faults=[
            {"provider": "brickowl", "path": "batch", "apply_then_timeout": 1, "hang_seconds": 2}
        ]
    )
    with pytest.raises(TransientError) as caught:
        brickowl.inventory_create_batch([sandbox_lot("e1"), sandbox_lot("e2")])
    assert caught.value.ambiguous
    # Never send the batch again blindly: find what landed by external id first.
    assert [lot.quantity for lot in brickowl.inventory_list(external_id="e2")] == [2]
    assert len(brickowl.inventory_list()) == 2


def test_bricklink_array_post_against_the_sandbox_one_lot_many_lots_none(sandbox):
    bricklink = BrickLinkClient(
        Credentials(**SandboxProcess.BRICKLINK_CREDENTIALS),
        base_url=sandbox.bricklink_url,
        http=FAST,
    )
    assert bricklink.inventory_create_many([]) is None  # nothing to send: no call
    assert sandbox.calls()["total"] == 0
    one = [NewLot("3001", 11, 1, "N", Decimal(1))]
    assert bricklink.inventory_create_many(one) is None  # answered with the lot
    many = [NewLot("3003", 5, 2, "U", Decimal(2)), NewLot("3004", 1, 3, "N", Decimal(3))]
    assert bricklink.inventory_create_many(many) is None  # answered with {}
    assert sorted(lot.item_no for lot in bricklink.inventory_list()) == ["3001", "3003", "3004"]
    bad = [*many, NewLot("9999999", 1, 1, "N", Decimal(1))]
    with pytest.raises(BadRequest):
        bricklink.inventory_create_many(bad)
    assert len(bricklink.inventory_list()) == 3  # all or nothing
