"""Reads of the catalog: cache-first from PostgreSQL, never waiting on BrickLink (except
``?wait``) and never failing because BrickLink is down.

Every read answers the status envelope of ``docs/api-v1.md``. Reading has an idempotent side
effect: missing or expired data enqueues a HIGH refresh, stale data a NORMAL one (both
deduplicated), and the envelope reflects that enqueue. The serialized envelope of fresh data
with no refresh under way is kept briefly in a shared cache, dropped when a refresh is
enqueued or lands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models import OuterRef, Subquery

from core import clock
from core.metrics import CATALOG_CACHE, LAST_KNOWN_GOOD_SERVED

from .freshness import Freshness, fresh_window, freshness_of
from .models import (
    ACTIVE_STATUSES,
    Category,
    Color,
    JobStatus,
    Kind,
    MissingPart,
    Part,
    PartColor,
    PartColorList,
    PriceGuide,
    Priority,
    RefreshJob,
)
from .services import Resource, read_cache_key, refresh_enqueue, refresh_raise


class PartNotFound(Exception):
    """BrickLink confirmed the part does not exist, recently enough to trust it."""


@dataclass(frozen=True)
class _JobView:
    status: str | None  # of the active refresh, if any
    last_error: dict[str, Any] | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.0001")))


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _job_view(resource: Resource) -> _JobView:
    """The active refresh (if any) and the last error, from the resource's two newest rows."""
    rows = list(
        RefreshJob.objects.filter(resource=resource.key)
        .order_by("-id")
        .values("status", "last_error")[:2]
    )
    active = next((row for row in rows if row["status"] in ACTIVE_STATUSES), None)
    finished = next((row for row in rows if row["status"] not in ACTIVE_STATUSES), None)
    error = None
    if active and active["last_error"]:
        error = active["last_error"]  # retrying after a failed attempt
    elif finished and finished["status"] == JobStatus.FAILED:
        error = finished["last_error"]
    public_error = (
        {"code": error.get("code"), "message": error.get("message"), "at": error.get("at")}
        if error
        else None
    )
    return _JobView(active["status"] if active else None, public_error)


def _check_not_missing(no: str, now: datetime) -> None:
    since = now - timedelta(days=settings.CATALOG_NOT_FOUND_DAYS)
    if MissingPart.objects.filter(no=no, confirmed_at__gte=since).exists():
        raise PartNotFound(no)


def _envelope(resource: Resource, now: datetime) -> tuple[dict[str, Any], datetime | None]:
    # The job is read before the data: a refresh commits its data and its "succeeded" in one
    # transaction, so a job seen finished means its data is visible to the read that follows.
    # The other order lets a refresh land in between and the read enqueue a second one.
    job = _job_view(resource)
    data, last_fetched = _load(resource)
    freshness = freshness_of(last_fetched, now)
    if job.status is None:
        if freshness in (None, Freshness.EXPIRED):
            enqueued = refresh_enqueue(resource=resource, priority=Priority.HIGH)
            job = _JobView(enqueued.status, job.last_error)
        elif freshness == Freshness.STALE:
            enqueued = refresh_enqueue(resource=resource, priority=Priority.NORMAL)
            job = _JobView(enqueued.status, job.last_error)
    elif freshness in (None, Freshness.EXPIRED):
        refresh_raise(resource=resource)  # queued maybe LOW or NORMAL: a reader needs it now
    is_refreshing = job.status in ACTIVE_STATUSES
    if data is None:
        status = "missing"
    elif is_refreshing:
        status = "refreshing"
    else:
        status = str(freshness)
    if data is not None and job.last_error:
        LAST_KNOWN_GOOD_SERVED.labels(kind=resource.kind).inc()
    return {
        "status": status,
        "freshness": str(freshness) if freshness else None,
        "is_refreshing": is_refreshing,
        "last_fetched": _iso(last_fetched),
        "data": data,
        "last_error": job.last_error,
    }, last_fetched


# --- the three resources -----------------------------------------------------------------------


def _part_data(no: str) -> tuple[dict[str, Any] | None, datetime | None]:
    category_name = Category.objects.filter(category_id=OuterRef("category_id")).values("name")
    part = Part.objects.filter(no=no).annotate(category_name=Subquery(category_name[:1])).first()
    if part is None:
        return None, None
    return {
        "no": part.no,
        "name": part.name,
        "type": part.type,
        "category_id": part.category_id,
        "category_name": part.category_name,
        "image_url": part.image_url,
        "thumbnail_url": part.thumbnail_url,
        "weight_g": _decimal(part.weight_g),
        "dim_x": _decimal(part.dim_x),
        "dim_y": _decimal(part.dim_y),
        "dim_z": _decimal(part.dim_z),
        "year_released": part.year_released,
        "is_obsolete": part.is_obsolete,
        "is_printed": part.is_printed,
        "alternate_no": part.alternate_no,
        "description": part.description,
    }, part.last_fetched


def _part_colors_data(no: str) -> tuple[list[dict[str, Any]] | None, datetime | None]:
    color_list = PartColorList.objects.filter(no=no).values_list("last_fetched", flat=True).first()
    if color_list is None:
        return None, None
    names = Color.objects.filter(color_id=OuterRef("color_id"))
    rows = (
        PartColor.objects.filter(color_list_id=no)
        .annotate(
            color_name=Subquery(names.values("name")[:1]),
            color_code=Subquery(names.values("code")[:1]),
        )
        .order_by("color_id")
        .values("color_id", "color_name", "color_code", "quantity")
    )
    return list(rows), color_list


def _price_guide_data(no: str, color_id: int) -> tuple[dict[str, Any] | None, datetime | None]:
    rows = list(
        PriceGuide.objects.filter(
            no=no, color_id=color_id, currency_code=settings.CATALOG_CURRENCY
        ).values()
    )
    if len(rows) < 4:  # the four are written together: fewer means never fetched
        return None, None
    guide: dict[str, Any] = {
        "color_id": color_id,
        "currency_code": rows[0]["currency_code"],
        "new": {},
        "used": {},
    }
    for row in rows:
        condition = "new" if row["new_or_used"] == "N" else "used"
        guide[condition][row["guide_type"]] = {
            "min_price": _money(row["min_price"]),
            "max_price": _money(row["max_price"]),
            "avg_price": _money(row["avg_price"]),
            "qty_avg_price": _money(row["qty_avg_price"]),
            "unit_quantity": row["unit_quantity"],
            "total_quantity": row["total_quantity"],
        }
    return guide, min(row["last_fetched"] for row in rows)


def _load(resource: Resource) -> tuple[Any, datetime | None]:
    if resource.kind == Kind.PART:
        return _part_data(resource.no)
    if resource.kind == Kind.PART_COLORS:
        return _part_colors_data(resource.no)
    return _price_guide_data(resource.no, resource.color_id)


def catalog_read(*, resource: Resource, wait: float = 0.0) -> dict[str, Any]:
    """The status envelope of one resource. Raises :class:`PartNotFound`.

    ``wait`` (seconds) holds the answer until the refresh of this resource finishes or the
    time is up: the REST stand-in for a subscription.
    """
    now = clock.now()
    cache = caches["catalog"]
    key = read_cache_key(resource)
    cached = cache.get(key) if not wait else None
    # An entry is good until its data stops being fresh, even inside the cache's timeout.
    if cached is not None and now.timestamp() < cached["fresh_until"]:
        CATALOG_CACHE.labels(result="hit").inc()
        return cached["envelope"]
    CATALOG_CACHE.labels(result="miss").inc()
    _check_not_missing(resource.no, now)
    envelope, last_fetched = _envelope(resource, now)
    if wait and envelope["is_refreshing"]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(settings.CATALOG_WAIT_POLL_SECONDS)
            if not RefreshJob.objects.filter(
                resource=resource.key, status__in=ACTIVE_STATUSES
            ).exists():
                break
        now = clock.now()
        _check_not_missing(resource.no, now)
        envelope, last_fetched = _envelope(resource, now)
    if envelope["status"] == Freshness.FRESH and not envelope["last_error"]:
        fresh_until = (last_fetched + fresh_window()).timestamp()
        timeout = min(settings.CATALOG_CACHE_SECONDS, max(1, int(fresh_until - now.timestamp())))
        cache.set(key, {"envelope": envelope, "fresh_until": fresh_until}, timeout)
    return envelope


def colors_list():
    return Color.objects.order_by("color_id")


def categories_list():
    return Category.objects.order_by("category_id")
