"""At most N calls in flight at once, across every worker: seats in the database, held under
a lease (BrickLink drops requests when more than 4-5 of one account arrive at once)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from core import clock

from .models import ConcurrencySlot


def slot_acquire(*, name: str, key: str, size: int, lease_seconds: float) -> uuid.UUID | None:
    """Take a free seat (or one whose holder's lease ran out); ``None`` when all are busy."""
    now = clock.now()
    seats = ConcurrencySlot.objects.filter(name=name, key=key, slot__lt=size)
    if seats.count() < size:
        with transaction.atomic():
            ConcurrencySlot.objects.bulk_create(
                [ConcurrencySlot(name=name, key=key, slot=n) for n in range(size)],
                ignore_conflicts=True,
            )
    token = uuid.uuid4()
    with transaction.atomic(savepoint=False):
        seat = (
            seats.select_for_update(skip_locked=True)
            .filter(Q(holder__isnull=True) | Q(lease_until__lt=now))
            .order_by("slot")
            .first()
        )
        if seat is None:
            return None
        seat.holder = token
        seat.lease_until = now + timedelta(seconds=lease_seconds)
        seat.save(update_fields=["holder", "lease_until"])
    return token


def slot_release(*, token: uuid.UUID) -> None:
    ConcurrencySlot.objects.filter(holder=token).update(holder=None, lease_until=None)
