"""Reads of the catalog, with no side effect: a resource's stored data, the state of its
refresh, whether BrickLink said the part does not exist, the reference lists, and how the
refresh outbox, its drain and its circuit breaker stand (what the admin's queue dashboard and
/metrics show). The API's envelope, whose read may queue a refresh, is
:mod:`catalog.services.reads`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Max, Min, OuterRef, Subquery

from ratelimit.models import CircuitBreaker

from .domain import Resource
from .freshness import fresh_window
from .models import (
    ACTIVE_STATUSES,
    Category,
    Color,
    DrainRun,
    JobStatus,
    Kind,
    MissingPart,
    Part,
    PartColor,
    PartColorList,
    PriceGuide,
    RefreshJob,
)


@dataclass(frozen=True)
class RefreshState:
    status: str | None  # of the active refresh, if any
    last_error: dict[str, Any] | None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.0001")))


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def refresh_state(resource: Resource) -> RefreshState:
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
    return RefreshState(active["status"] if active else None, public_error)


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


def resource_data(resource: Resource) -> tuple[Any, datetime | None]:
    if resource.kind == Kind.PART:
        return _part_data(resource.no)
    if resource.kind == Kind.PART_COLORS:
        return _part_colors_data(resource.no)
    return _price_guide_data(resource.no, resource.color_id)


def colors_list():
    return Color.objects.order_by("color_id")


def categories_list():
    return Category.objects.order_by("category_id")


def part_missing(no: str, now: datetime) -> bool:
    """BrickLink confirmed the part does not exist, recently enough to trust it."""
    since = now - timedelta(days=settings.CATALOG_NOT_FOUND_DAYS)
    return MissingPart.objects.filter(no=no, confirmed_at__gte=since).exists()


def parts_missing(nos: Iterable[str], now: datetime) -> set[str]:
    """Of ``nos``, the parts BrickLink confirmed do not exist, recently enough to trust it (as
    :func:`part_missing`, for many at once)."""
    since = now - timedelta(days=settings.CATALOG_NOT_FOUND_DAYS)
    found = MissingPart.objects.filter(no__in=set(nos), confirmed_at__gte=since)
    return set(found.values_list("no", flat=True))


def part_names(nos: Iterable[str]) -> dict[str, str]:
    """The catalog's name of each of ``nos`` it has stored (at any age)."""
    return dict(Part.objects.filter(no__in=set(nos)).values_list("no", "name"))


def part_fresh_colors(nos: Iterable[str], now: datetime) -> dict[str, set[int]]:
    """The colors each of ``nos`` is known in, for the parts whose known colors are fresh;
    a part whose list is stale, expired or never fetched is absent."""
    fresh_since = now - fresh_window()
    lists = PartColorList.objects.filter(no__in=set(nos), last_fetched__gt=fresh_since)
    known: dict[str, set[int]] = {no: set() for no in lists.values_list("no", flat=True)}
    rows = PartColor.objects.filter(color_list_id__in=list(known))
    for no, color_id in rows.values_list("color_list_id", "color_id"):
        known[no].add(color_id)
    return known


def colors_unknown(color_ids: Iterable[int]) -> set[int]:
    """Of ``color_ids``, those that are not BrickLink colors; none while the colors reference
    list has never been loaded (nothing to tell by)."""
    wanted = set(color_ids)
    if not wanted or not Color.objects.exists():
        return set()
    known = Color.objects.filter(color_id__in=wanted).values_list("color_id", flat=True)
    return wanted - set(known)


def refresh_active(resource: Resource) -> bool:
    return RefreshJob.objects.filter(resource=resource.key, status__in=ACTIVE_STATUSES).exists()


# --- the refresh outbox, as operators see it ---------------------------------------------------


def refresh_oldest_pending_at() -> datetime | None:
    """When the oldest pending refresh was queued; None when none is pending."""
    pending = RefreshJob.objects.filter(status=JobStatus.PENDING)
    return pending.aggregate(at=Min("created_at"))["at"]


def refresh_finished_count(*, status: str, since: datetime) -> int:
    """Refreshes that ended ``status`` (succeeded or failed) since ``since``."""
    return RefreshJob.objects.filter(status=status, processed_at__gte=since).count()


def drain_run_list(*, limit: int) -> list[DrainRun]:
    """The last ``limit`` drain runs, newest first."""
    return list(DrainRun.objects.order_by("-started_at")[:limit])


def drain_last_finished_at() -> datetime | None:
    """When a drain last finished; None before the first."""
    return DrainRun.objects.aggregate(at=Max("finished_at"))["at"]


def breaker_list() -> list[CircuitBreaker]:
    """Every circuit breaker that has a row, by name. A breaker gets its row when it first
    counts a failure: the catalog's (``catalog.domain.BREAKER``) has none before."""
    return list(CircuitBreaker.objects.order_by("name"))
