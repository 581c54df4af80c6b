"""Many items without a lot on a marketplace, sent in batches instead of one call each.

A store turned on, a takeover or a file import can leave thousands of items that only need a
lot created: one call each would spend days of BrickLink's quota. So the sweep groups such
syncs by account and marketplace (:func:`uploads_send`, at least ``INVENTORY_UPLOAD_MIN`` of
them) and sends one upload per group instead of a message per sync. An upload
(:func:`upload_run`) claims a chunk of the group's syncs under one token, creates their lots
-- BrickLink: one array ``POST /inventories`` and one ``GET /inventories`` to learn the ids
(inventory/lots/bricklink.py); BrickOwl: ``bulk/batch`` calls of 50 (lots/brickowl_upload.py)
-- and settles each sync as a single run would (lots/chunk.py), then takes the next chunk.
Unlike a single sync, an upload waits out the limit's pace in place when its next token is at
most :data:`PACE_WAIT_SECONDS` away: one task keeps the account's batches flowing at the
allowed rate instead of going to the back of the queue for each of them.

The guarantees are the single sync's: calls paid for before they are made, within the
account's limits (a wait puts the chunk back and the upload comes back when it may call);
a create that may have landed unanswered is looked for by our marker or external id, never
sent again blindly; a batch refused as a whole goes one by one, so the item at fault is
named; single changes keep syncing at once, one message each.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, QuerySet

from core import clock
from marketplaces.errors import MarketplaceError
from outbox.claims import claim_batch, held_of
from outbox.leases import lease_held
from outbox.publish import send
from outbox.sweep import to_send
from ratelimit.budget import MustWait

from . import work
from .lots import bricklink, brickowl, brickowl_upload
from .lots.base import Gate
from .lots.chunk import REFUSED, Chunk
from .models import ItemStatus, MarketplaceConnection, Provider, SyncState, SyncStatus
from .sync import client_for
from .work import SYNCS

logger = logging.getLogger(__name__)

# How long one upload task runs before it hands over to a new message (other work waits on
# the same queue).
RUN_SECONDS = 60
# A wait for the limit this short is waited out in the task (see upload_run).
PACE_WAIT_SECONDS = 2.0


@dataclass
class UploadOutcome:
    synced: int = 0
    chunks: int = 0
    calls: int = 0
    waiting: float | None = None  # seconds until it may call again, when it had to wait


def candidates(*, account_id: int | None = None, provider: str | None = None) -> QuerySet:
    """Syncs that only need a lot created: no lot yet, an item for sale -- and not refused in
    a batch before (those go one by one until they succeed)."""
    rows = SyncState.objects.filter(
        status=SyncStatus.SYNCING,
        lot_id="",
        item__archived=False,
        item__status=ItemStatus.AVAILABLE,
        item__quantity_available__gt=0,
    ).exclude(last_error__code=REFUSED)
    if account_id is not None:
        rows = rows.filter(item__account_id=account_id)
    if provider is not None:
        rows = rows.filter(provider=provider)
    return rows


def uploads_send(now) -> int:
    """The sweep's first step for syncs: every group of at least ``INVENTORY_UPLOAD_MIN``
    syncs the sweep would send that only need a lot goes as one upload. Answers how many
    syncs it took."""
    if settings.DISABLE_EXTERNAL_CALLS:
        return 0  # each sync marks itself done without calling: one by one
    due = candidates().filter(to_send(SYNCS, now))
    groups = (
        due.values("item__account_id", "provider")
        .annotate(count=Count("pk"))
        .filter(count__gte=settings.INVENTORY_UPLOAD_MIN)
        .order_by()
    )
    taken = 0
    for group in groups:
        account_id, provider = group["item__account_id"], group["provider"]
        taken += due.filter(item__account_id=account_id, provider=provider).update(
            dispatched_at=now
        )
        publish_upload(account_id, provider)
    return taken


def publish_upload(account_id: int, provider: str, countdown: float | None = None) -> None:
    from .tasks import upload

    # The urgent lane, as orders: one message per account and store, which must not wait
    # behind a flood of catalog refreshes on the default queue.
    send(
        upload,
        [account_id, provider],
        queue="urgent",
        countdown=countdown,
        what=f"the upload of account {account_id}'s lots to {provider}",
    )


def chunk_size(provider: str) -> int:
    if provider == Provider.BRICKLINK:
        return settings.INVENTORY_BRICKLINK_BATCH_SIZE
    return settings.INVENTORY_BRICKOWL_BATCHES_PER_CHUNK * brickowl_upload.BATCH_MAX


def upload_run(account_id: int, provider: str) -> UploadOutcome:
    """Create the lots of the account's syncs that need one on ``provider``, a chunk at a
    time, until none is left (or it must wait: it comes back by itself)."""
    outcome = UploadOutcome()
    conn = MarketplaceConnection.objects.filter(account_id=account_id, provider=provider).first()
    if conn is None or not conn.enabled or not conn.configured or settings.DISABLE_EXTERNAL_CALLS:
        # Switched off (or no calls at all): each sync says so on its own, now.
        rows = candidates(account_id=account_id, provider=provider).filter(claim_token__isnull=True)
        for row in rows.values("item_id", "provider")[: settings.INVENTORY_SWEEP_BATCH_SIZE]:
            work.publish_sync(row["item_id"], row["provider"])
        return outcome
    client = client_for(conn)
    started = time.monotonic()
    # When the syncs this run put back (waiting, retrying) are due: it comes back then.
    back_in: float | None = None
    while time.monotonic() - started < RUN_SECONDS:
        claims = claim_batch(
            SYNCS,
            candidates(account_id=account_id, provider=provider),
            now=clock.now(),
            limit=chunk_size(provider),
            read=("in_doubt", "calls_reserved", "calls_usable_at"),
        )
        if not claims:
            break
        gate = _gate(account_id, provider, claims)
        chunk = Chunk.of(claims, gate)
        with lease_held(model=SyncState, token=claims[0].token, seconds=SYNCS.policy.lease_seconds):
            try:
                while True:
                    try:
                        _upload(client, chunk, account_id)
                        break
                    except MarketplaceError as exc:  # a listing or look-up that failed
                        chunk.fail_open(exc)
                        break
                    except MustWait as wait:
                        left = RUN_SECONDS - (time.monotonic() - started)
                        if wait.wait > min(PACE_WAIT_SECONDS, left):
                            chunk.put_back(wait)
                            outcome.waiting = wait.wait
                            break
                        # The limit's pace (a token in a second or two): waited out here, the
                        # chunk held, instead of behind every message on the queue.
                        time.sleep(wait.wait)
            finally:
                outcome.synced += chunk.settle()
                outcome.chunks += 1
                outcome.calls += gate.calls
        if chunk.back_in is not None:
            back_in = chunk.back_in if back_in is None else min(back_in, chunk.back_in)
        if outcome.waiting is not None:
            break
    else:
        back_in = 0.0  # more to do: in a message of its own
    if back_in is not None:
        publish_upload(account_id, provider, countdown=max(0.5, back_in))
    return outcome


def _gate(account_id: int, provider: str, claims) -> Gate:
    """The chunk's gate, holding the calls its syncs had paid for and not spent."""
    held = sum(claim.row["calls_reserved"] for claim in claims)
    usable = [c.row["calls_usable_at"] for c in claims if c.row["calls_usable_at"]]
    if held:
        held_of(claims).update(calls_reserved=0, calls_usable_at=None)
    budget = {"held_calls": held, "usable_at": max(usable) if usable else None}
    if provider == Provider.BRICKLINK:
        return Gate(provider, account_id, **budget)
    return brickowl_upload.batch_gate(account_id, **budget)


def _upload(client, chunk: Chunk, account_id: int) -> None:
    # An item taken off sale since it was claimed: its single sync says so.
    unlisted = [pk for pk in chunk.open() if chunk.item(pk).listed_quantity <= 0]
    if unlisted:
        chunk.hand_over(unlisted, "no longer for sale")
    if chunk.gate.provider == Provider.BRICKLINK:
        bricklink.upload(client, chunk)
        return
    list_gate = Gate(Provider.BRICKOWL, account_id, reserve_ahead=False)
    catalog = brickowl.Catalog.for_seller(client, list_gate)
    brickowl_upload.upload(client, chunk, catalog, list_gate)
