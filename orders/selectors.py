"""Reads of an account's orders (never another account's)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import Account

from .models import Order, OrderLine, OrderState, PickStatus


def _lines() -> Prefetch:
    return Prefetch(
        "lines",
        queryset=OrderLine.objects.filter(present=True).select_related("item").order_by("id"),
    )


def order_list(*, account: Account) -> QuerySet[Order]:
    """Newest first, with their lines (and whether they are packed) in one more query."""
    unpicked = OrderLine.objects.filter(
        order=OuterRef("pk"), present=True, pick_status=PickStatus.UNPICKED
    )
    return (
        Order.objects.filter(account=account)
        .annotate(has_unpicked=Exists(unpicked))
        .prefetch_related(_lines())
        .order_by("-placed_at", "-id")
    )


def order_get(*, account: Account, order_id: int) -> Order:
    """One order of the account; ``Order.DoesNotExist`` for anything else."""
    return order_list(account=account).get(pk=order_id)


def picklist(*, account: Account) -> QuerySet[OrderLine]:
    """The lines still to pick from open orders, in the order a picker walks the shelves:
    by the item's location (lines without one last), then part and color."""
    return (
        OrderLine.objects.filter(
            order__account=account,
            order__state=OrderState.OPEN,
            order__history=False,
            present=True,
            pick_status=PickStatus.UNPICKED,
        )
        .select_related("order", "item")
        .order_by("item__location", "part_number", "color_id", "order_id", "id")
    )
