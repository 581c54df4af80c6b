"""Every client method and every error class, over real HTTP against the sandbox process."""

import logging
import threading
from decimal import Decimal

import pytest

from marketplaces.bricklink import BrickLinkClient, Credentials, NewLot
from marketplaces.brickowl import BrickOwlClient
from marketplaces.errors import (
    AuthError,
    BadRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from marketplaces.http import HttpConfig, seconds_until_next_utc_midnight
from tests.harness import SandboxProcess

FAST = HttpConfig(connect_timeout=1, read_timeout=1.0, deadline=5)
CREDS = Credentials(**SandboxProcess.BRICKLINK_CREDENTIALS)
MISSING_PART = "9999999"


@pytest.fixture
def bricklink(sandbox) -> BrickLinkClient:
    return BrickLinkClient(CREDS, base_url=sandbox.bricklink_url, http=FAST)


@pytest.fixture
def brickowl(sandbox) -> BrickOwlClient:
    return BrickOwlClient(SandboxProcess.BRICKOWL_KEY, base_url=sandbox.brickowl_url, http=FAST)


def calls_to(sandbox, endpoint: str) -> int:
    return sandbox.calls()["by_endpoint"].get(endpoint, 0)


# --- BrickLink: catalog --------------------------------------------------------------------------


def test_bricklink_item_colors_and_categories_from_the_sandbox(bricklink):
    item = bricklink.item("3001")
    assert item.no == "3001"
    assert item.name == "Brick 2 x 4"
    assert item.image_url.startswith("https://img.bricklink.com/")
    assert item.thumbnail_url.startswith("https://")
    assert isinstance(item.weight, Decimal)
    known = bricklink.known_colors("3001")
    assert known
    assert all(isinstance(c.color_id, int) and isinstance(c.quantity, int) for c in known)
    colors = bricklink.colors()
    assert len(colors) >= 60
    assert {c.color_id: c.color_name for c in colors}[11] == "Black"
    assert all(len(c.color_code) == 6 for c in colors if c.color_id)
    categories = bricklink.categories()
    assert len(categories) >= 20
    assert any(c.parent_id for c in categories)


def test_bricklink_names_are_unescaped_for_items_with_entities(bricklink, sandbox_catalog):
    no = sandbox_catalog.part_with_entities()
    item = bricklink.item(no)
    assert "&#" not in item.name
    assert "&amp;" not in item.name


def test_bricklink_full_price_guide_is_four_calls(bricklink, sandbox):
    color_id = bricklink.known_colors("3001")[0].color_id
    guide = bricklink.full_price_guide("3001", color_id=color_id)
    assert guide.color_id == color_id
    for part in (guide.new_stock, guide.new_sold, guide.used_stock, guide.used_sold):
        assert isinstance(part.avg_price, Decimal)
        assert part.avg_price.as_tuple().exponent == -4
        assert isinstance(part.unit_quantity, int)
    assert calls_to(sandbox, "GET /bricklink/items/{type}/{no}/price") == 4


def test_bricklink_missing_part_is_not_found(bricklink):
    with pytest.raises(NotFound) as caught:
        bricklink.item(MISSING_PART)
    assert caught.value.meta_code == 404
    assert not caught.value.retryable


def test_bricklink_each_call_is_signed_anew(bricklink, sandbox):
    # Nonces are single-use: the same call twice must carry two signatures, and both pass.
    bricklink.item("3001")
    bricklink.item("3001")
    assert calls_to(sandbox, "GET /bricklink/items/{type}/{no}") == 2


# --- BrickLink: inventory ------------------------------------------------------------------------


def test_bricklink_inventory_create_get_update_delete(bricklink, sandbox):
    lot = bricklink.inventory_create(
        NewLot("3001", 11, 5, "N", Decimal("0.1250"), description="nice", remarks="brickops:1")
    )
    assert lot.quantity == 5
    assert lot.remarks == "brickops:1"
    assert bricklink.inventory_get(lot.inventory_id).unit_price == Decimal("0.1250")

    updated = bricklink.inventory_update(lot.inventory_id, description="nice", quantity_delta=3)
    assert updated.quantity == 8
    updated = bricklink.inventory_update(lot.inventory_id, description="nice", quantity_delta=-6)
    assert updated.quantity == 2
    updated = bricklink.inventory_update(
        lot.inventory_id, description="nicer", unit_price=Decimal("0.2")
    )
    assert updated.quantity == 2  # no delta, no quantity sent
    assert updated.unit_price == Decimal("0.2000")

    assert [lot.inventory_id] == [row.inventory_id for row in bricklink.inventory_list()]
    bricklink.inventory_delete(lot.inventory_id)
    assert bricklink.inventory_list() == []
    with pytest.raises(NotFound):
        bricklink.inventory_get(lot.inventory_id)


def test_bricklink_create_many_answers_no_ids_so_we_relist(bricklink):
    lots = [NewLot("3001", 11, 1, "N", Decimal(1)), NewLot("3003", 5, 2, "U", Decimal(2))]
    assert bricklink.inventory_create_many(lots) is None
    assert sorted(lot.item_no for lot in bricklink.inventory_list()) == ["3001", "3003"]


def test_bricklink_quantity_cannot_go_negative(bricklink):
    lot = bricklink.inventory_create(NewLot("3001", 11, 1, "N", Decimal(1)))
    with pytest.raises(BadRequest):
        bricklink.inventory_update(lot.inventory_id, description="", quantity_delta=-5)
    assert bricklink.inventory_get(lot.inventory_id).quantity == 1


# --- BrickLink: errors from the sandbox ----------------------------------------------------------


def test_bricklink_bad_signature_is_an_auth_error(sandbox):
    wrong = Credentials(CREDS.consumer_key, "not-the-secret", CREDS.token_value, CREDS.token_secret)
    client = BrickLinkClient(wrong, base_url=sandbox.bricklink_url, http=FAST)
    with pytest.raises(AuthError) as caught:
        client.item("3001")
    assert caught.value.meta_code == 401
    assert "SIGNATURE_INVALID" in caught.value.message
    assert not caught.value.retryable


def test_bricklink_unknown_consumer_key_is_an_auth_error(sandbox):
    stranger = Credentials("who-is-this", "x", "y", "z")
    with pytest.raises(AuthError):
        BrickLinkClient(stranger, base_url=sandbox.bricklink_url, http=FAST).colors()


@pytest.mark.parametrize("mode", ["200", "real"])
def test_bricklink_quota_exceeded_is_rate_limited_until_the_utc_day_ends(bricklink, sandbox, mode):
    sandbox.control(bricklink_quota=2, bricklink_error_http_status=mode)
    bricklink.colors()
    bricklink.colors()
    with pytest.raises(RateLimited) as caught:
        bricklink.colors()
    assert caught.value.meta_code == 429
    assert caught.value.http_status == (200 if mode == "200" else 429)
    assert abs(caught.value.retry_after - seconds_until_next_utc_midnight()) < 60


def test_bricklink_http_429_fault_carries_retry_after(bricklink, sandbox):
    sandbox.control(faults=[{"provider": "bricklink", "path": "^/colors", "http_429": 1}])
    with pytest.raises(RateLimited) as caught:
        bricklink.colors()
    assert caught.value.http_status == 429
    assert caught.value.retry_after == 2


@pytest.mark.parametrize(
    ("fault", "ambiguous"),
    [("error_500", True), ("html_503", False), ("malformed_json", True), ("hang", True)],
)
def test_bricklink_faults_are_transient(bricklink, sandbox, fault, ambiguous):
    sandbox.control(
        faults=[{"provider": "bricklink", "path": "^/inventories", fault: 1, "hang_seconds": 2}]
    )
    with pytest.raises(TransientError) as caught:
        bricklink.inventory_create(NewLot("3001", 11, 1, "N", Decimal(1)))
    assert caught.value.retryable
    assert caught.value.ambiguous is ambiguous
    sandbox.control(faults=[])
    if fault != "hang":  # nothing was applied
        assert bricklink.inventory_list() == []


def test_bricklink_apply_then_timeout_is_ambiguous_and_was_applied(bricklink, sandbox):
    lot = bricklink.inventory_create(NewLot("3001", 11, 4, "N", Decimal(1)))
    sandbox.control(
        faults=[
            {
                "provider": "bricklink",
                "method": "PUT",
                "path": "^/inventories",
                "apply_then_timeout": 1,
                "hang_seconds": 2,
            }
        ]
    )
    with pytest.raises(TransientError) as caught:
        bricklink.inventory_update(lot.inventory_id, description="", quantity_delta=3)
    assert caught.value.ambiguous
    sandbox.control(faults=[])
    # The change landed although we never heard back: re-read, never replay.
    assert bricklink.inventory_get(lot.inventory_id).quantity == 7


def test_bricklink_more_than_five_in_flight_get_gateway_pages(sandbox):
    sandbox.control(latency={"fixed_ms": 400, "random_ms": 0})
    client = BrickLinkClient(
        CREDS, base_url=sandbox.bricklink_url, http=HttpConfig(read_timeout=5, deadline=10)
    )
    outcomes: list[str] = []

    def call():
        try:
            client.item("3001")
            outcomes.append("ok")
        except TransientError as exc:
            outcomes.append("503" if exc.http_status == 503 and not exc.ambiguous else repr(exc))

    threads = [threading.Thread(target=call) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") >= 5
    assert outcomes.count("503") >= 1
    assert set(outcomes) <= {"ok", "503"}


# --- BrickOwl ------------------------------------------------------------------------------------


def test_brickowl_catalog_lookups(brickowl, sandbox_catalog):
    assert brickowl.id_lookup("3001")
    with pytest.raises(NotFound):
        brickowl.id_lookup(sandbox_catalog.part_without_boid())
    with pytest.raises(NotFound):
        brickowl.id_lookup(MISSING_PART)
    colors = brickowl.color_list()
    mapped = {bl_id for color in colors for bl_id in color.bl_ids}
    assert 11 in mapped
    assert sandbox_catalog.color_without_brickowl() not in mapped


def test_brickowl_inventory_create_find_update_delete(brickowl, sandbox):
    boid = brickowl.id_lookup("3001")[0]
    owl_color = next(c.id for c in brickowl.color_list() if 11 in c.bl_ids)
    lot_id = brickowl.inventory_create(
        boid=boid,
        color_id=owl_color,
        quantity=3,
        price=Decimal("0.125"),
        condition="new",
        external_id="brickops-42",
    )
    [lot] = brickowl.inventory_list(external_id="brickops-42")
    assert lot.lot_id == lot_id
    assert lot.quantity == 3
    assert lot.price == Decimal("0.125")
    brickowl.inventory_update(external_id="brickops-42", absolute_quantity=9)
    brickowl.inventory_update(external_id="brickops-42", absolute_quantity=9)  # idempotent
    assert brickowl.inventory_list(external_id="brickops-42")[0].quantity == 9
    brickowl.inventory_delete(lot_id=lot_id)
    assert brickowl.inventory_list(external_id="brickops-42") == []
    with pytest.raises(NotFound):
        brickowl.inventory_delete(lot_id=lot_id)


def test_brickowl_bad_key_is_refused(sandbox):
    client = BrickOwlClient("wrong-key", base_url=sandbox.brickowl_url, http=FAST)
    with pytest.raises((AuthError, PermissionDenied)) as caught:
        client.color_list()
    assert not caught.value.retryable


def test_brickowl_bad_input_is_a_bad_request(brickowl):
    with pytest.raises(BadRequest):
        brickowl.inventory_create(
            boid="no-such-boid",
            color_id=1,
            quantity=1,
            price=Decimal(1),
            condition="new",
            external_id="x",
        )


def test_brickowl_past_the_rate_is_rate_limited_with_retry_after(brickowl, sandbox):
    sandbox.control(brickowl_rate_per_minute=3)
    for _ in range(3):
        brickowl.id_lookup("3001")
    with pytest.raises(RateLimited) as caught:
        brickowl.id_lookup("3001")
    assert caught.value.http_status == 429
    assert 0 < caught.value.retry_after <= 60


@pytest.mark.parametrize("fault", ["error_500", "html_503", "malformed_json", "hang"])
def test_brickowl_faults_are_transient(brickowl, sandbox, fault):
    sandbox.control(
        faults=[{"provider": "brickowl", "path": "color_list", fault: 1, "hang_seconds": 2}]
    )
    with pytest.raises(TransientError) as caught:
        brickowl.color_list()
    assert caught.value.retryable


def test_brickowl_apply_then_timeout_on_create_leaves_a_lot_to_find(brickowl, sandbox):
    boid = brickowl.id_lookup("3001")[0]
    sandbox.control(
        faults=[
            {"provider": "brickowl", "path": "create", "apply_then_timeout": 1, "hang_seconds": 2}
        ]
    )
    with pytest.raises(TransientError) as caught:
        brickowl.inventory_create(
            boid=boid,
            color_id=1,
            quantity=1,
            price=Decimal(1),
            condition="new",
            external_id="brickops-7",
        )
    assert caught.value.ambiguous
    sandbox.control(faults=[])
    assert len(brickowl.inventory_list(external_id="brickops-7")) == 1


# --- logs ----------------------------------------------------------------------------------------


def test_client_logs_one_line_per_call_and_never_a_secret(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    bricklink = BrickLinkClient(CREDS, base_url=sandbox.bricklink_url, http=FAST)
    brickowl = BrickOwlClient(SandboxProcess.BRICKOWL_KEY, base_url=sandbox.brickowl_url, http=FAST)
    bricklink.item("3001")
    with pytest.raises(NotFound):
        bricklink.item(MISSING_PART)
    brickowl.color_list()
    with pytest.raises(PermissionDenied):
        BrickOwlClient("wrong-key-123", base_url=sandbox.brickowl_url, http=FAST).color_list()
    sandbox.control(faults=[{"provider": "*", "error_500": 1}])
    for call in (bricklink.colors, brickowl.color_list):
        with pytest.raises(TransientError):
            call()

    lines = [r for r in caplog.records if r.name == "marketplaces.http"]
    assert len(lines) == 6
    first = lines[0]
    assert (first.provider, first.method, first.path, first.status, first.meta_code) == (
        "bricklink",
        "GET",
        "/items/{type}/{no}",
        200,
        200,
    )
    assert first.duration_ms >= 0
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (
        *SandboxProcess.BRICKLINK_CREDENTIALS.values(),
        SandboxProcess.BRICKOWL_KEY,
        "wrong-key-123",
        "oauth_signature",
        "Authorization",
    ):
        assert secret not in text
