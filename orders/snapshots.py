"""An order as a marketplace shows it, in one shape for both marketplaces: what the feed
fetches and the effects are computed from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .models import OrderState

# BrickLink's statuses (docs/marketplace-formats.md 1.3) as our states. PURGED (an old order
# whose details BrickLink dropped) and anything unknown keep whatever state the order had.
BRICKLINK_STATES = {
    "PENDING": OrderState.OPEN,
    "UPDATED": OrderState.OPEN,
    "PROCESSING": OrderState.OPEN,
    "READY": OrderState.OPEN,
    "PAID": OrderState.OPEN,
    "PAID-PENDING": OrderState.OPEN,
    "PACKED": OrderState.OPEN,
    "OCR": OrderState.OPEN,  # a cancel request: not cancelled yet
    "NPB": OrderState.OPEN,
    "NRS": OrderState.OPEN,
    "NSS": OrderState.OPEN,
    "SHIPPED": OrderState.COMPLETED,
    "RECEIVED": OrderState.COMPLETED,
    "COMPLETED": OrderState.COMPLETED,
    "CANCELLED": OrderState.CANCELLED,
    "NPX": OrderState.CANCELLED,  # non-paying buyer, cancelled
}
# BrickOwl's status ids (4.1).
BRICKOWL_STATES = {
    0: OrderState.OPEN,  # Pending
    1: OrderState.OPEN,  # Payment Submitted
    2: OrderState.OPEN,  # Payment Received
    3: OrderState.OPEN,  # Processing
    4: OrderState.OPEN,  # Processed
    5: OrderState.COMPLETED,  # Shipped
    6: OrderState.COMPLETED,  # Received
    7: OrderState.OPEN,  # On Hold
    8: OrderState.CANCELLED,  # Cancelled
}


@dataclass(frozen=True)
class LineSnapshot:
    lot_id: str
    quantity: int
    part_number: str = ""
    color_id: int | None = None  # BrickLink's
    condition: str = ""  # new | used
    unit_price: Decimal = Decimal(0)
    # The item the lot was ours for, from our marker in the lot (BrickLink's remarks,
    # BrickOwl's external id) as the order copied it: the lot may be gone or replaced since.
    marked_item_id: int | None = None


@dataclass(frozen=True)
class OrderSnapshot:
    provider: str
    external_id: str
    status: str
    state: str | None  # None: a status we do not know; the order keeps its state
    placed_at: datetime
    status_changed_at: datetime
    buyer_name: str = ""
    # None: the items were not fetched (a status change only); the lines stay as they are.
    lines: tuple[LineSnapshot, ...] | None = field(default=None)
