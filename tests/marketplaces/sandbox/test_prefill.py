"""Stores prefilled with a seller's lots (``/_control`` ``prefill``): what the lots look like,
sharing between two stores, determinism, refusals, and 20,000 lots listed fast."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from marketplaces.bricklink import BrickLinkClient, Credentials
from marketplaces.brickowl import BrickOwlClient
from marketplaces.http import HttpConfig
from marketplaces.sandbox.catalog import build_catalog
from tests.harness import SandboxProcess
from tests.marketplaces.sandbox.wire import CREDS, OWL_KEY, TIMEOUT, create_lot, get, oauth

BL = {"provider": "bricklink", "account": CREDS["consumer_key"]}
OWL = {"provider": "brickowl", "account": OWL_KEY}
CATALOG = build_catalog(1)
logger = logging.getLogger(__name__)


def takeover_stores(sandbox, *, bl_seed: int = 7, owl_seed: int = 8) -> dict:
    """The issue's takeover scene: 2,000 lots on BrickLink, 1,500 on BrickOwl, 1,200 shared."""
    return sandbox.control(
        reset=True,
        prefill=[
            {**BL, "lots": 2000, "seed": bl_seed},
            {**OWL, "lots": 1500, "seed": owl_seed, "share_with": BL, "shared": 1200},
        ],
    )


def bricklink_key(lot: dict) -> tuple[str, int, str]:
    return lot["item"]["no"], lot["color_id"], lot["new_or_used"]


def brickowl_key(lot: dict) -> tuple[str, int, str]:
    """A BrickOwl lot's (BrickLink part, BrickLink color, N/U), through the catalog's maps."""
    boid, _, color = lot["boid"].rpartition("-")
    item = CATALOG.boids[boid]
    return item.no, CATALOG.brickowl_colors[color].color_id, "N" if lot["con"] == "new" else "U"


def test_takeover_stores_hold_a_sellers_lots_and_share_exactly_as_asked(bl, owl, sandbox):
    config = takeover_stores(sandbox)
    assert config["prefilled"] == [
        {**BL, "lots": 2000, "shared": 0, "store_lots": 2000},
        {**OWL, "lots": 1500, "shared": 1200, "store_lots": 1500},
    ]
    bricklink_lots = get(bl, "/inventories").json()["data"]
    brickowl_lots = get(owl, "/inventory/list", key=OWL_KEY).json()
    assert (len(bricklink_lots), len(brickowl_lots)) == (2000, 1500)

    for lot in bricklink_lots:
        item = CATALOG.item("PART", lot["item"]["no"])
        assert lot["item"]["type"] == "PART"
        assert lot["color_id"] in item.color_ids  # a color the part comes in
        assert lot["quantity"] >= 1
        assert "brickops" not in lot["remarks"] + lot["description"]
    for lot in brickowl_lots:
        boid, _, color = lot["boid"].rpartition("-")
        item = CATALOG.boids[boid]  # BrickOwl's id of a catalog part
        assert CATALOG.brickowl_colors[color].color_id in item.color_ids
        assert lot["external_lot_ids"] == []  # no external id: not ours
        assert lot["full_con"] in ("new", "usedn", "usedg", "useda")
        assert "brickops" not in lot["personal_note"] + lot["public_note"]

    bricklink_keys = {bricklink_key(lot) for lot in bricklink_lots}
    brickowl_keys = {brickowl_key(lot) for lot in brickowl_lots}
    assert len(bricklink_keys) == 2000  # one lot per (part, color, condition)
    assert len(brickowl_keys) == 1500
    assert len(bricklink_keys & brickowl_keys) == 1200
    # Behind the API's back: neither counted nor in the ledger.
    assert sandbox.calls()["total"] == 2
    assert sandbox.ledger() == []


def test_prefill_is_deterministic_from_its_seed(sandbox):
    def stores(**seeds) -> tuple[list, list]:
        takeover_stores(sandbox, **seeds)
        bricklink_lots = sandbox.inventory("bricklink", CREDS["consumer_key"])
        for lot in bricklink_lots:
            del lot["date_created"]
        return bricklink_lots, sandbox.inventory("brickowl", OWL_KEY)

    first = stores()
    assert stores() == first  # lot for lot, ids included
    other = stores(bl_seed=9, owl_seed=10)
    assert other[0] != first[0]
    assert other[1] != first[1]


def test_prefill_adds_to_a_store_and_shares_with_lots_made_through_the_api(bl, sandbox):
    lot = create_lot(bl)  # 3001 in black, new
    config = sandbox.control(prefill={**OWL, "lots": 5, "seed": 3, "share_with": BL, "shared": 1})
    assert config["prefilled"] == [{**OWL, "lots": 5, "shared": 1, "store_lots": 5}]
    keys = [brickowl_key(row) for row in sandbox.inventory("brickowl", OWL_KEY)]
    assert keys.count(bricklink_key(lot)) == 1
    sandbox.control(prefill={**BL, "lots": 30, "seed": 3})
    bricklink_lots = sandbox.inventory("bricklink", CREDS["consumer_key"])
    assert len(bricklink_lots) == 31  # the lot made through the API is kept...
    assert len({bricklink_key(row) for row in bricklink_lots}) == 31  # ...and not drawn again


@pytest.mark.parametrize(
    ("prefill", "status", "words"),
    [
        ({**BL, "lots": 0}, 400, "prefill.lots"),
        ({**BL, "lots": 5, "colour": 1}, 400, "unknown prefill keys"),
        ({**BL, "lots": 5, "shared": 2}, 400, "needs share_with"),
        ({**OWL, "lots": 5, "share_with": OWL}, 400, "itself"),
        ({**OWL, "lots": 5, "shared": 6, "share_with": BL}, 400, "prefill.shared"),
        ({"provider": "brickowl", "account": "who", "lots": 5}, 404, "no brickowl account"),
        ({**BL, "lots": 99_999}, 400, "--parts"),  # more distinct lots than the catalog has
        ({**OWL, "lots": 5, "shared": 1, "share_with": BL}, 400, "has only 0"),  # BL is empty
    ],
)
def test_prefill_refusals_store_no_lot(sandbox, prefill, status, words):
    response = requests.post(f"{sandbox.url}/_control", json={"prefill": prefill}, timeout=TIMEOUT)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert sandbox.inventory("bricklink", CREDS["consumer_key"]) == []
    assert sandbox.inventory("brickowl", OWL_KEY) == []


def test_twenty_thousand_lot_stores_are_listed_in_well_under_a_second():
    """A sandbox of its own, with a catalog large enough for 20,000 distinct lots a store."""
    server = SandboxProcess(args=("--parts", "3000")).start()
    try:
        started = time.perf_counter()
        config = server.control(
            prefill=[
                {**BL, "lots": 20_000, "seed": 1},
                {**OWL, "lots": 20_000, "seed": 2, "share_with": BL, "shared": 12_000},
            ]
        )
        filled = time.perf_counter() - started
        assert [entry["store_lots"] for entry in config["prefilled"]] == [20_000, 20_000]

        session = requests.Session()
        timings = {}
        started = time.perf_counter()
        listed = session.get(f"{server.bricklink_url}/inventories", auth=oauth(), timeout=30)
        timings["GET /inventories"] = time.perf_counter() - started
        assert len(listed.json()["data"]) == 20_000
        started = time.perf_counter()
        listed = session.get(
            f"{server.brickowl_url}/inventory/list", params={"key": OWL_KEY}, timeout=30
        )
        timings["GET inventory/list"] = time.perf_counter() - started
        assert len(listed.json()) == 20_000

        http = HttpConfig(connect_timeout=2, read_timeout=30, deadline=30)
        bricklink = BrickLinkClient(Credentials(**CREDS), base_url=server.bricklink_url, http=http)
        brickowl = BrickOwlClient(OWL_KEY, base_url=server.brickowl_url, http=http)
        started = time.perf_counter()
        assert len(bricklink.inventory_list()) == 20_000
        timings["BrickLinkClient.inventory_list"] = time.perf_counter() - started
        started = time.perf_counter()
        assert len(brickowl.inventory_list()) == 20_000
        timings["BrickOwlClient.inventory_list"] = time.perf_counter() - started
        logger.info(
            "prefill 2 x 20,000 lots: %.2f s; %s",
            filled,
            ", ".join(f"{name}: {seconds:.3f} s" for name, seconds in timings.items()),
        )
        assert max(timings.values()) < 2.0, timings
        assert timings["GET /inventories"] < 1.0, timings
        assert timings["GET inventory/list"] < 1.0, timings
    finally:
        server.stop()
