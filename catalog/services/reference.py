"""Reference data: BrickLink's colors and categories (two calls), weekly and on demand."""

from __future__ import annotations

from django.db import transaction

from catalog.domain import GLOBAL_LIMIT
from catalog.models import Category, Color
from core import clock
from marketplaces.bricklink import BrickLinkClient
from marketplaces.errors import RateLimited
from ratelimit.services import rate_limit_take


def reference_sync(*, progress=None) -> tuple[int, int]:
    """Colors and categories from BrickLink (2 calls). ``progress(done, total)`` is told as
    rows are written. Raises the client's errors (RateLimited when the quota is gone)."""
    decision = rate_limit_take(names=GLOBAL_LIMIT, count=2)
    if not decision.granted:
        raise RateLimited(
            f"the {decision.limit} limit has no room now",
            retry_after=decision.retry_after,
            provider="brickops",
        )
    client = BrickLinkClient.platform()
    colors = client.colors()
    categories = client.categories()
    now = clock.now()
    total = len(colors) + len(categories)
    with transaction.atomic():
        Color.objects.bulk_create(
            [
                Color(
                    color_id=c.color_id,
                    name=c.color_name,
                    code=c.color_code,
                    type=c.color_type,
                    last_fetched=now,
                )
                for c in colors
            ],
            update_conflicts=True,
            unique_fields=["color_id"],
            update_fields=["name", "code", "type", "last_fetched"],
        )
        if progress:
            progress(len(colors), total)
        Category.objects.bulk_create(
            [
                Category(
                    category_id=c.category_id,
                    name=c.category_name,
                    parent_id=c.parent_id,
                    last_fetched=now,
                )
                for c in categories
            ],
            update_conflicts=True,
            unique_fields=["category_id"],
            update_fields=["name", "parent_id", "last_fetched"],
        )
        if progress:
            progress(total, total)
    return len(colors), len(categories)
