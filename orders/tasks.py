"""Thin Celery tasks over the order feeds. How they are sent: orders/work.py."""

from __future__ import annotations

from celery import shared_task

from core.tasks import RETRY_WHEN_DATABASE_AWAY
from inventory.models import MarketplaceConnection

from . import feed, services


@shared_task(name="orders.run_feed", ignore_result=True, **RETRY_WHEN_DATABASE_AWAY)
def run_feed(feed_id: int) -> str:
    return feed.feed_run(feed_id=feed_id).outcome


@shared_task(name="orders.poll", ignore_result=True)
def poll() -> int:
    """Every enabled store's orders, every ORDERS_POLL_SECONDS (pushes may never come)."""
    enabled = MarketplaceConnection.objects.filter(enabled=True)
    return services.feeds_due(connections=enabled, poll=True)
