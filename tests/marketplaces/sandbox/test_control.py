"""The sandbox's own endpoints, its counting and drift, its determinism and its command."""

from __future__ import annotations

import requests

from marketplaces.sandbox.catalog import MISSING_ITEM_NUMBERS, build_catalog
from tests.harness import SandboxProcess
from tests.marketplaces.sandbox.wire import CREDS, OWL_KEY, TIMEOUT, create_lot, get

# --- control, counting, drift ----------------------------------------------------------------


def test_calls_are_counted_by_endpoint_resource_account_and_fault(bl, owl, sandbox):
    for guide in ("stock", "sold"):
        for condition in ("N", "U"):
            get(bl, "/items/PART/3001/price", color_id=11, guide_type=guide, new_or_used=condition)
    get(bl, "/items/PART/3001")
    get(owl, "/catalog/id_lookup", id="3001", type="Part", id_type="bl_item_no", key=OWL_KEY)
    requests.get(f"{sandbox.bricklink_url}/colors", timeout=TIMEOUT)  # unsigned, still counted
    calls = sandbox.calls()
    assert calls["total"] == 7
    assert calls["by_endpoint"] == {
        "GET /bricklink/items/{type}/{no}/price": 4,
        "GET /bricklink/items/{type}/{no}": 1,
        "GET /brickowl/catalog/id_lookup": 1,
        "GET /bricklink/colors": 1,
    }
    resources = calls["by_resource"]
    price = "GET /bricklink/items/PART/3001/price?color_id=11"
    assert resources[f"{price}&guide_type=stock&new_or_used=N"] == 1
    assert resources[f"{price}&guide_type=sold&new_or_used=U"] == 1
    assert resources["GET /bricklink/items/PART/3001"] == 1
    assert calls["by_account"] == {"sandbox-consumer-key": 5, OWL_KEY: 1}
    sandbox.calls()
    sandbox.control()
    assert sandbox.calls()["total"] == 7  # control endpoints are never counted


def test_inventory_drift_is_seen_by_the_api_but_not_counted_or_ledgered(bl, owl, sandbox):
    lot = create_lot(bl)
    sandbox.inventory_change(
        provider="bricklink",
        account=CREDS["consumer_key"],
        op="update",
        lot_id=lot["inventory_id"],
        lot={"quantity": 2, "remarks": "drift"},
    )
    seen = get(bl, f"/inventories/{lot['inventory_id']}").json()["data"]
    assert (seen["quantity"], seen["remarks"]) == (2, "drift")
    created = sandbox.inventory_change(
        provider="brickowl",
        account=OWL_KEY,
        op="create",
        lot={
            "boid": build_catalog(1).item("PART", "3003").boid,
            "color_id": "81",
            "quantity": 4,
            "price": "0.3",
            "condition": "new",
            "external_id": "manual",
        },
    )["lot"]
    assert get(owl, "/inventory/list", key=OWL_KEY).json() == [created]
    sandbox.inventory_change(
        provider="brickowl", account=OWL_KEY, op="delete", lot_id=created["lot_id"]
    )
    assert sandbox.inventory("brickowl", OWL_KEY) == []
    assert [entry["op"] for entry in sandbox.ledger()] == ["create"]
    assert sandbox.calls()["total"] == 3


def test_control_refuses_bad_bodies_and_changes_nothing(sandbox):
    before = sandbox.control()
    for bad in (
        {"bricklink_quota": 10, "typo": 1},
        {"faults": [{"error_500": 2}]},
        {"bricklink_error_http_status": "sometimes"},
        {"latency": {"fixed": 1}},
    ):
        response = sandbox.session.post(f"{sandbox.url}/_control", json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert sandbox.control() == before


def test_reset_restores_startup_settings_and_forgets_extra_credentials(bl, sandbox):
    create_lot(bl)
    config = sandbox.control(
        bricklink_quota=1,
        brickowl_keys=["owl-2"],
        seed=5,
        faults=[{"provider": "brickowl", "error_500": 0.1}],
        bricklink_credentials=[
            {
                "consumer_key": "ck-9",
                "consumer_secret": "s",
                "token_value": "t",
                "token_secret": "u",
            }
        ],
    )
    assert config["bricklink_accounts"] == ["ck-9", "sandbox-consumer-key"]
    assert config["brickowl_accounts"] == ["owl-2", OWL_KEY]
    reset = sandbox.reset()
    assert reset["bricklink_quota"] == 5000
    assert reset["seed"] == 1
    assert reset["faults"] == []
    assert reset["bricklink_accounts"] == ["sandbox-consumer-key"]
    assert reset["bricklink_error_http_status"] == "200"
    assert sandbox.inventory("bricklink", CREDS["consumer_key"]) == []
    assert sandbox.calls()["total"] == 0
    assert sandbox.ledger() == []


# --- determinism ---------------------------------------------------------------------------


def test_catalog_is_deterministic_per_seed_and_rich_enough():
    first, again, other = build_catalog(1), build_catalog.__wrapped__(1), build_catalog(2)
    assert [i.bricklink_payload() for i in first.items.values()] == [
        i.bricklink_payload() for i in again.items.values()
    ]
    assert [(i.no, i.colors) for i in first.parts()] != [(i.no, i.colors) for i in other.parts()]
    parts = first.parts()
    assert len(first.colors) >= 60
    assert len(first.categories) >= 20
    assert len(parts) >= 200
    assert sum(p.is_printed for p in parts) >= 10
    assert sum(p.is_obsolete for p in parts) >= 5
    assert sum(bool(p.alternate_no) for p in parts) >= 2
    assert all(1 <= len(p.colors) <= 8 for p in parts)
    assert {"10030-1", "6080-1", "75192-1"} <= {s.no for s in first.of_type("SET")}
    assert first.item("MINIFIG", "sw0001a") is not None
    for no in MISSING_ITEM_NUMBERS:
        assert all(first.item(kind, no) is None for kind in ("PART", "SET", "MINIFIG"))
    for no in (
        "3001",
        "3003",
        "3020",
        "3069b",
        "2780",
        "973",
        "970",
        "3626c",
        "3001pr0001",
        "973pb0001",
        "3069bpr0099",
    ):
        assert first.item("PART", no) is not None, no


def test_same_seed_gives_byte_identical_answers(bl, sandbox):
    paths = [
        "/items/PART/3001",
        "/items/PART/3001/price?color_id=11&guide_type=sold",
        "/colors",
        "/categories",
        "/items/SET/10030-1/colors",
    ]
    first = [bl.get(f"{bl.base}{path}", timeout=TIMEOUT).content for path in paths]
    sandbox.control(seed=2)
    changed = bl.get(f"{bl.base}{paths[1]}", timeout=TIMEOUT).content
    sandbox.reset()
    assert [bl.get(f"{bl.base}{path}", timeout=TIMEOUT).content for path in paths] == first
    assert changed != first[1]


def test_command_reads_flags_and_environment_and_reset_returns_to_them():
    process = SandboxProcess(
        args=("--bricklink-quota", "7", "--faults", '[{"provider": "brickowl", "hang": 0.5}]'),
        env={"SANDBOX_SEED": "3", "SANDBOX_LATENCY_MS": "5", "SANDBOX_FAULT_SEED": "9"},
    ).start()
    try:
        config = process.control(bricklink_quota=99, seed=4, fault_seed=1)
        assert config["bricklink_quota"] == 99
        config = process.reset()
        assert (config["bricklink_quota"], config["seed"], config["fault_seed"]) == (7, 3, 9)
        assert config["latency"] == {"fixed_ms": 5, "random_ms": 0}
        assert config["faults"][0]["hang"] == 0.5
    finally:
        process.stop()
    assert process.proc.returncode == 0
    assert "Marketplace sandbox on http://127.0.0.1:" in process.log_path.read_text()
