"""Writes of orders that people (and marketplaces' pushes) make: picking, asking for the
orders now. What an order does to stock is :mod:`orders.effects`; how orders are fetched is
:mod:`orders.feed`."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from core import clock
from inventory.models import MarketplaceConnection

from . import work
from .models import FeedStatus, Order, OrderFeed, OrderLine


def line_pick(*, account: Account, order_id: int, line_id: int, pick_status: str) -> OrderLine:
    """Set a line's pick status; picking moves no stock. ``OrderLine.DoesNotExist`` for a line
    not in this account's order."""
    line = OrderLine.objects.select_related("order", "item").get(
        pk=line_id, order_id=order_id, order__account=account, present=True
    )
    if line.pick_status != pick_status:
        line.pick_status = pick_status
        line.save(update_fields=["pick_status"])
        Order.objects.filter(pk=order_id).update(updated_at=clock.now())
    return line


def feed_for(connection: MarketplaceConnection) -> OrderFeed:
    """The store's feed, made on first use: orders placed before the store's orders began to
    be followed are history."""
    feed, _ = OrderFeed.objects.get_or_create(
        account_id=connection.account_id,
        provider=connection.provider,
        defaults={
            "since": connection.orders_since or connection.updated_at,
            "updated_at": clock.now(),
        },
    )
    return feed


def feeds_due(
    *,
    connections,
    poll: bool = False,
    notifications: bool = False,
    order_ids: list[str] | None = None,
) -> int:
    """Ask for these stores' orders now (the periodic poll, a push, a seller's request): each
    feed becomes due and is sent to the workers once this commits. A push adds what it names
    (BrickLink: read the notifications; BrickOwl: that order). A feed whose run is under way
    runs again as soon as it ends. Answers how many feeds were asked."""
    now = clock.now()
    asked = 0
    with transaction.atomic():
        for connection in connections:
            if not (connection.enabled and connection.configured):
                continue
            feed = OrderFeed.objects.select_for_update().get(pk=feed_for(connection).pk)
            feed.requested_at = now
            feed.check_notifications = feed.check_notifications or notifications
            feed.poll_requested = feed.poll_requested or poll
            feed.pushed = feed.pushed + [
                str(i) for i in order_ids or () if str(i) not in feed.pushed
            ]
            if feed.claim_token is None:
                if feed.status == FeedStatus.FAILED:
                    feed.attempts = 0
                feed.status = FeedStatus.DUE
                feed.next_attempt_at = min(feed.next_attempt_at or now, now)
                feed.dispatched_at = now
                transaction.on_commit(lambda feed_id=feed.pk: work.publish_feed(feed_id))
            feed.updated_at = now
            feed.save()
            asked += 1
    return asked


def orders_sync_now(*, account: Account) -> int:
    """Fetch the account's new and changed orders from every enabled store now."""
    return feeds_due(connections=MarketplaceConnection.objects.filter(account=account), poll=True)
