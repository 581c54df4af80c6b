"""A feed run pays for an order's calls before the first, and what it learnt survives a wait
(in this process, the sandbox over HTTP, a moved clock)."""

from inventory.models import MarketplaceConnection
from orders.feed import feed_run
from orders.models import OrderFeed
from orders.services import feeds_due
from tests.inventory.conftest import BL
from tests.orders.test_command import place


def order_calls(sandbox) -> dict[str, int]:
    return {
        endpoint: n
        for endpoint, n in sandbox.calls()["by_endpoint"].items()
        if "/orders" in endpoint or "/notifications" in endpoint
    }


def slow_order_limit(settings) -> None:
    """BrickLink's order calls: a token every 10 s, one to start with."""
    rule = {"kind": "token_bucket", "rate": 6, "period": 60, "capacity": 1, "max_reserved": 10}
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "bricklink:orders": {"rules": [rule]}}


def test_a_notified_order_is_paid_for_whole_and_never_asked_for_twice(store, settings, fake_clock):
    """BrickLink's notification names an order: its details and items are two calls, taken in
    one go. With room for one call only, the run reads the notifications, then waits without
    calling; at its turn it fetches the order once and its items once."""
    item = store.create(quantity_available=10)
    store.sync(item)
    place(store, BL, item, 2)
    slow_order_limit(settings)
    connection = MarketplaceConnection.objects.get(account=store.account, provider=BL)
    feeds_due(connections=[connection], notifications=True)
    feed = OrderFeed.objects.get(account=store.account, provider=BL)
    before = order_calls(store.sandbox)

    assert feed_run(feed_id=feed.pk).outcome == "deferred"
    feed.refresh_from_db()
    assert feed.calls_reserved == 2
    assert len(feed.to_fetch) == 1
    waited = order_calls(store.sandbox)
    assert sum(waited.values()) - sum(before.values()) == 1  # the notifications, no order yet

    fake_clock.advance(seconds=25)
    outcome = feed_run(feed_id=feed.pk)
    assert outcome.outcome == "done"
    assert outcome.calls == 2
    after = order_calls(store.sandbox)
    assert sum(after.values()) - sum(waited.values()) == 2  # the order, then its items
    item.refresh_from_db()
    assert (item.quantity_available, item.quantity_reserved) == (8, 2)
    feed.refresh_from_db()
    assert (feed.to_fetch, feed.calls_reserved) == ([], 0)


def test_a_push_whose_read_must_wait_is_read_at_its_turn(store, settings, fake_clock):
    """The callback asks for the notifications, but the limit has no room: the run calls
    nothing and the ask stays on the feed, so a later run reads them -- the push is not
    lost until the next poll."""
    from ratelimit.services import rate_limit_take

    item = store.create(quantity_available=10)
    store.sync(item)
    place(store, BL, item, 2)
    slow_order_limit(settings)
    assert rate_limit_take(names=[("bricklink:orders", str(store.account.pk))]).granted
    connection = MarketplaceConnection.objects.get(account=store.account, provider=BL)
    feeds_due(connections=[connection], notifications=True)
    feed = OrderFeed.objects.get(account=store.account, provider=BL)
    before = sum(order_calls(store.sandbox).values())

    assert feed_run(feed_id=feed.pk).outcome == "deferred"
    feed.refresh_from_db()
    assert feed.check_notifications  # still asked
    assert sum(order_calls(store.sandbox).values()) == before

    outcomes = []
    while not outcomes or outcomes[-1] == "deferred":
        assert len(outcomes) < 10, outcomes
        fake_clock.advance(seconds=30)
        outcomes.append(feed_run(feed_id=feed.pk).outcome)
    assert outcomes[-1] == "done"
    item.refresh_from_db()
    assert (item.quantity_available, item.quantity_reserved) == (8, 2)
    # The notifications, the order and its items: each once.
    assert sum(order_calls(store.sandbox).values()) - before == 3
