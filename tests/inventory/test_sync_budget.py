"""A sync pays for its calls before it makes them, keeps what it learnt when it must wait,
and an account's syncs queue in order instead of racing (in this process, the sandbox over
HTTP, a moved clock)."""

from datetime import timedelta

import pytest

from core import clock
from inventory.models import SyncState
from ratelimit.models import Bucket
from tests.inventory.conftest import BL, BO, BO_KEY

pytestmark = pytest.mark.usefixtures("no_publishing")

PLATFORM_KEY = "sandbox-platform-key"


def _limit(settings, name: str, *, capacity: float, per_minute: float, max_reserved=100):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        name: {
            "rules": [
                {
                    "kind": "token_bucket",
                    "rate": per_minute,
                    "period": 60,
                    "capacity": capacity,
                    "max_reserved": max_reserved,
                }
            ]
        },
    }


def _seller_calls(sandbox, key: str = BO_KEY) -> int:
    return sandbox.calls()["by_account"].get(key, 0)


def _endpoint_calls(sandbox, fragment: str) -> int:
    return sum(n for endpoint, n in sandbox.calls()["by_endpoint"].items() if fragment in endpoint)


@pytest.fixture
def platform_key(store, settings):
    """The platform's own BrickOwl key, apart from the seller's."""
    store.sandbox.control(brickowl_keys=[BO_KEY, PLATFORM_KEY])
    settings.BRICKOWL_API_KEY = PLATFORM_KEY
    return PLATFORM_KEY


def test_a_new_item_costs_the_seller_one_brickowl_call(store, platform_key):
    """No look-up by external id before the create (the state knows there is no lot), and
    the BOID and color map come with the platform's key, once."""
    first = store.create(part_number="3001")
    second = store.create(part_number="3001", color_id=5)
    assert store.sync(first, BO) == {BO: "synced"}
    assert store.sync(second, BO) == {BO: "synced"}
    assert _seller_calls(store.sandbox) == 2  # the two creates
    assert _endpoint_calls(store.sandbox, "inventory/list") == 0
    assert _endpoint_calls(store.sandbox, "id_lookup") == 1  # one part, looked up once
    assert _endpoint_calls(store.sandbox, "color_list") == 1
    assert len(store.brickowl()) == 2


def test_a_step_takes_all_its_tokens_before_its_first_call(
    store, settings, fake_clock, platform_key
):
    """An item in doubt on BrickOwl needs a look-up and a create: 2 tokens in one take. With
    room for one only, it reserves both, calls nothing, and runs at its turn without taking
    again."""
    _limit(settings, "brickowl:account", capacity=1, per_minute=6)  # a token every 10 s
    item = store.create()
    SyncState.objects.filter(item=item, provider=BO).update(in_doubt=True)
    assert store.sync(item, BO) == {BO: "deferred"}
    assert _seller_calls(store.sandbox) == 0  # a wait costs no call
    state = store.state(item, BO)
    assert state.calls_reserved == 2
    assert state.calls_usable_at == fake_clock() + timedelta(seconds=10)
    assert state.next_attempt_at >= state.calls_usable_at
    assert state.in_doubt  # nothing was learnt yet: still to be looked up

    fake_clock.advance(seconds=5)
    store.make_due(item)  # woken early (a change, "sync now"): still not its turn
    assert store.sync(item, BO) == {BO: "deferred"}
    assert _seller_calls(store.sandbox) == 0
    assert store.state(item, BO).calls_reserved == 2

    fake_clock.advance(seconds=5)
    store.make_due(item)
    bucket_before = Bucket.objects.get(name="brickowl:account").value
    assert store.sync(item, BO) == {BO: "synced"}
    assert _seller_calls(store.sandbox) == 2  # the look-up and the create
    assert Bucket.objects.get(name="brickowl:account").value == bucket_before  # paid already
    state = store.state(item, BO)
    assert (state.calls_reserved, state.calls_usable_at) == (0, None)
    assert len(store.brickowl()) == 1


def test_what_a_look_up_learnt_survives_a_wait(store, settings, fake_clock, platform_key):
    """In doubt, the sync pays for the look-up and the create it expects. The look-up finds
    our lot in the wrong condition (a delete and a create: one call more than paid for), so it
    must wait -- keeping the lot it found: the next run asks nothing again."""
    item = store.create(quantity_available=3, condition="used")
    assert store.sync(item, BO) == {BO: "synced"}
    [lot] = store.brickowl()
    item.condition, item.version = "new", item.version + 1
    item.save()
    SyncState.objects.filter(item=item, provider=BO).update(
        in_doubt=True, status="syncing", lot_id="", confirmed=None
    )
    _limit(settings, "brickowl:account", capacity=2, per_minute=6, max_reserved=0)
    calls = _seller_calls(store.sandbox)
    assert store.sync(item, BO) == {BO: "deferred"}
    assert _seller_calls(store.sandbox) == calls + 1  # the look-up, then a wait
    state = store.state(item, BO)
    assert (state.lot_id, state.in_doubt) == (lot["lot_id"], False)  # what it learnt...
    assert state.confirmed["condition"] == "usedn"
    assert state.calls_reserved == 1  # ...and the token it did not spend
    fake_clock.advance(seconds=10)
    store.make_due(item)
    assert store.sync(item, BO) == {BO: "synced"}
    assert _endpoint_calls(store.sandbox, "inventory/list") == 1  # not asked again
    assert _seller_calls(store.sandbox) == calls + 3  # + the delete and the create
    [new_lot] = store.brickowl()
    assert (new_lot["con"], new_lot["qty"]) == ("new", "3")


def test_an_accounts_syncs_queue_in_order_and_spend_exactly_their_calls(
    store, settings, fake_clock, platform_key
):
    """Five creates, a token a second: each reserves its call and is told its turn; none
    races, none calls twice."""
    _limit(settings, "brickowl:account", capacity=1, per_minute=60)
    items = [store.create(part_number="3001", color_id=c) for c in (1, 5, 11, 2, 3)]
    outcomes = [store.sync(item, BO)[BO] for item in items]
    assert outcomes == ["synced", "deferred", "deferred", "deferred", "deferred"]
    turns = [store.state(item, BO).calls_usable_at - fake_clock() for item in items[1:]]
    assert turns == [timedelta(seconds=n) for n in (1, 2, 3, 4)]
    for second in range(1, 5):
        fake_clock.advance(seconds=1)
        for item in items:
            store.make_due(item)
            store.sync(item, BO)
        # One more each second, in the order they asked.
        synced = [store.state(item, BO).status == "synced" for item in items]
        assert synced == [True] * (1 + second) + [False] * (4 - second)
    assert _seller_calls(store.sandbox) == 5  # N items x 1 call, never more


def test_bricklink_pays_for_the_re_read_and_the_change_together(store, settings, fake_clock):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:account": {
            "rules": [
                {"kind": "fixed_window", "rate": 5000, "period": 86400, "max_reserved": 0},
                {
                    "kind": "token_bucket",
                    "rate": 1,
                    "period": 1,
                    "capacity": 1,
                    "max_reserved": 100,
                },
            ]
        },
    }
    item = store.create()
    SyncState.objects.filter(item=item, provider=BL).update(in_doubt=True)
    assert store.sync(item, BL) == {BL: "deferred"}  # needs 2, the bucket holds 1
    assert store.sandbox.calls()["total"] == 0
    assert store.state(item, BL).calls_reserved == 2
    fake_clock.advance(seconds=1)
    store.make_due(item)
    assert store.sync(item, BL) == {BL: "synced"}
    assert store.sandbox.calls()["total"] == 2  # the marker search, the create
    assert len(store.bricklink()) == 1


def test_a_spent_day_is_not_reserved_into(store, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "bricklink:account": {
            "rules": [{"kind": "fixed_window", "rate": 1, "period": 86400, "max_reserved": 0}]
        },
    }
    first, second = store.create(), store.create(part_number="3003")
    assert store.sync(first, BL) == {BL: "synced"}
    assert store.sync(second, BL) == {BL: "deferred"}
    state = store.state(second, BL)
    assert (state.calls_reserved, state.calls_usable_at) == (0, None)  # took nothing
    assert state.next_attempt_at > clock.now() + timedelta(hours=1)
