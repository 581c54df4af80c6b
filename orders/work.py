"""Order feeds as a kind of outbox work (outbox/claims.py): one row per store, polled every
ORDERS_POLL_SECONDS and whenever a push or a seller asks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q

from outbox.claims import Work
from outbox.publish import send

from .models import FeedStatus, OrderFeed


def publish_feed(feed_id: int, countdown: float | None = None) -> None:
    from .tasks import run_feed

    send(run_feed, [feed_id], queue="urgent", countdown=countdown, what=f"order feed #{feed_id}")


def _failed(now: datetime) -> Mapping[str, Any]:
    # The next poll asks again (orders.services.feeds_due); the error stays on the row.
    return {"status": FeedStatus.FAILED, "next_attempt_at": None}


FEEDS = Work(
    kind="order_feed",
    model=OrderFeed,
    active=Q(status=FeedStatus.DUE),
    claimable=Q(status=FeedStatus.DUE),
    running={},
    waiting={"status": FeedStatus.DUE},
    failed=_failed,
    # Looked up when called, so a test can stand in for the broker.
    hint=lambda row, countdown: publish_feed(row["pk"], countdown=countdown),
    hint_fields=(),
)
