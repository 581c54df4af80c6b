"""Taking over a seller's existing store: every lot linked to exactly one item, and
recorded as that item's lot, already in sync -- no lot created, no quantity changed anywhere.

* One import per account and marketplace runs at a time (a constraint on the running row).
* The store is read once, outside any transaction. Then, in **one** transaction holding the
  import's row, the plan is made and written: a crash writes nothing, and a re-run skips the
  lots already linked (by marker, external id, or a sync state's lot id), so no item is ever
  linked twice and no lot twice.
* A lot is linked to a live item with the same part, color and condition and no lot on this
  marketplace yet (one lot per item, oldest item first), else becomes a new item (history
  ``import``). New items are synced to the *other* enabled marketplace once, after commit
  (:func:`inventory.scheduling.sync_batch`).
* A dry run makes the same report and writes nothing but the report (BrickOwl look-ups are
  kept, as every sync keeps them).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q

from accounts.models import Account, User
from core import clock
from inventory.lots.base import Gate
from inventory.models import (
    ChangeType,
    InventoryItem,
    MarketplaceConnection,
    Provider,
    SyncState,
    SyncStatus,
)
from inventory.scheduling import sync_batch
from inventory.services import items_create_many
from inventory.sync import client_for
from marketplaces.errors import MarketplaceError
from outbox.policy import policy_for
from outbox.publish import send
from ratelimit.budget import MustWait

from .lots import Entry, Found, Ours, Progress, Unmapped, entries_of, owl_look_ups, store_read
from .models import ImportStatus, StoreImport

logger = logging.getLogger(__name__)


class TakeoverRefused(Exception):
    """The import cannot start: ``code`` and ``status`` for the API's error envelope."""

    def __init__(self, message: str, *, code: str, status: int, running: StoreImport | None = None):
        super().__init__(message)
        self.code, self.status, self.running = code, status, running


def publish_import(import_id: int, countdown: float | None = None) -> None:
    """Tell the workers to run the import (now, or in ``countdown`` seconds)."""
    due = clock.now() + timedelta(seconds=countdown or 0)
    StoreImport.objects.filter(pk=import_id).update(sent_at=due)
    _send_import(import_id, countdown)


def imports_resend(now: datetime) -> int:
    """Send again the running imports whose message was lost (broker down when it was sent,
    a worker killed mid-run): none sent, or sent or last begun longer ago than
    ``TAKEOVER_RESEND_SECONDS``. A run delivered twice is harmless (the second finds it done).
    Answers how many."""
    lost_since = now - timedelta(seconds=settings.TAKEOVER_RESEND_SECONDS)
    lost = StoreImport.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(sent_at__lt=lost_since) | Q(sent_at__isnull=True, started_at__lt=lost_since)
    )
    ids = list(lost.values_list("pk", flat=True))
    for import_id in ids:
        logger.warning("store import #%s lost its message: sent again", import_id)
        publish_import(import_id)
    return len(ids)


def _send_import(import_id: int, countdown: float | None) -> None:
    from .tasks import run_import

    # The urgent lane: a seller waits on it, and it must not queue behind catalog refreshes.
    send(
        run_import,
        [import_id],
        queue="urgent",
        countdown=countdown,
        what=f"store import #{import_id}",
    )


def import_begin(
    *, account: Account, provider: str, dry_run: bool, actor: User | None, publish: bool = True
) -> StoreImport:
    """Start a takeover (its run is sent to the workers after commit, when ``publish``).
    Raises :class:`TakeoverRefused`: an unknown marketplace, no configured connection, or an
    import of this store already running (its id in ``running``)."""
    if provider not in Provider.values:
        raise TakeoverRefused(
            f"unknown marketplace {provider!r}", code="unknown_marketplace", status=404
        )
    with transaction.atomic():
        connection = (
            MarketplaceConnection.objects.select_for_update()
            .filter(account=account, provider=provider)
            .first()
        )
        if connection is None or not connection.configured:
            raise TakeoverRefused(
                f"connect your {provider} store (its credentials) before taking it over",
                code="marketplace_not_configured",
                status=409,
            )
        running = StoreImport.objects.filter(
            account=account, provider=provider, status=ImportStatus.RUNNING
        ).first()
        if running is not None:
            raise TakeoverRefused(
                f"an import of this store is already running (#{running.pk})",
                code="import_running",
                status=409,
                running=running,
            )
        try:
            with transaction.atomic():
                store_import = StoreImport.objects.create(
                    account=account,
                    provider=provider,
                    dry_run=dry_run,
                    created_by=actor,
                    started_at=clock.now(),
                )
        except IntegrityError:  # started meanwhile (the connection lock makes this rare)
            raise TakeoverRefused(
                "an import of this store is already running",
                code="import_running",
                status=409,
            ) from None
        if publish:
            transaction.on_commit(lambda: publish_import(store_import.pk))
    return store_import


# New items are written this many at a time (the progress bar moves between).
CREATE_BATCH = 1000


@dataclass
class Plan:
    lots_seen: int = 0
    already_ours: int = 0
    links: list[tuple[int, Found]] = field(default_factory=list)  # (item id, lot)
    creates: list[Found] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)


def plan_for(account_id: int, provider: str, entries: list[Entry]) -> Plan:
    """What to do with each lot, from the items as they are now (in the caller's transaction)."""
    states = SyncState.objects.filter(
        item__account_id=account_id, item__archived=False, provider=provider
    )
    linked_lots = set(states.exclude(lot_id="").values_list("lot_id", flat=True))
    # Items with a lot here, or a create that may have landed unanswered (found by its marker).
    busy = set(states.exclude(lot_id="", in_doubt=False).values_list("item_id", flat=True))
    candidates: dict[tuple, list[int]] = defaultdict(list)
    live = InventoryItem.objects.filter(account_id=account_id, archived=False).order_by("id")
    for item_id, part, color, condition in live.values_list(
        "id", "part_number", "color_id", "condition"
    ):
        if item_id not in busy:
            candidates[(part, color, condition)].append(item_id)
    plan = Plan(lots_seen=len(entries))
    for entry in entries:
        if isinstance(entry, Ours) or entry.lot_id in linked_lots:
            plan.already_ours += 1
        elif isinstance(entry, Unmapped):
            plan.unmapped.append({"lot_id": entry.lot_id, "reason": entry.reason})
        elif candidates.get(entry.key):
            plan.links.append((candidates[entry.key].pop(0), entry))
        else:
            plan.creates.append(entry)
    return plan


def plan_apply(store_import: StoreImport, plan: Plan, progress: Progress | None = None) -> None:
    """Write the plan, inside the caller's transaction: the new items (one sync each to the
    other marketplaces, after commit) and every linked item's state on this marketplace."""
    account, provider = store_import.account, store_import.provider
    actor = store_import.created_by
    reason = f"takeover of {provider} store"
    versions = dict(
        InventoryItem.objects.select_for_update()
        .filter(pk__in=[item_id for item_id, _ in plan.links])
        .values_list("id", "version")
    )
    linked = [(item_id, versions[item_id], found) for item_id, found in plan.links]
    bar = progress("items", len(plan.creates)) if progress and plan.creates else None
    try:
        with sync_batch():
            for start in range(0, len(plan.creates), CREATE_BATCH):
                group = plan.creates[start : start + CREATE_BATCH]
                made = items_create_many(
                    account=account,
                    actor=actor,
                    datas=[found.item_data for found in group],
                    change_type=ChangeType.IMPORT,
                    reason=reason,
                )
                linked += [
                    (item.pk, item.version, found) for item, found in zip(made, group, strict=True)
                ]
                if bar is not None:
                    bar.update(len(group))
    finally:
        if bar is not None:
            bar.close()
    now = clock.now()
    SyncState.objects.bulk_create(
        [
            SyncState(
                item_id=item_id,
                provider=provider,
                status=SyncStatus.SYNCED,
                lot_id=found.lot_id,
                confirmed=found.confirmed,
                confirmed_at=now,
                in_doubt=False,
                recheck=False,
                synced_version=version,
                synced_at=now,
                last_error=None,
                attempts=0,
                next_attempt_at=None,
                dispatched_at=None,
                updated_at=now,
            )
            for item_id, version, found in linked
        ],
        update_conflicts=True,
        unique_fields=["item", "provider"],
        update_fields=[
            "status",
            "lot_id",
            "confirmed",
            "confirmed_at",
            "in_doubt",
            "recheck",
            "synced_version",
            "synced_at",
            "last_error",
            "attempts",
            "next_attempt_at",
            "dispatched_at",
            "updated_at",
        ],
        batch_size=1000,
    )


def import_execute(store_import: StoreImport, progress: Progress | None = None) -> StoreImport:
    """Read the store and take it over (or, a dry run, report what that would do). Raises
    :class:`MustWait` (nothing written; run again later) and :class:`MarketplaceError`."""
    connection = MarketplaceConnection.objects.get(
        account_id=store_import.account_id, provider=store_import.provider
    )
    gate = Gate(store_import.provider, store_import.account_id)
    catalog = None
    if connection.provider == Provider.BRICKOWL:
        # The look-ups first: a run that must wait for them has not read the store yet.
        catalog = owl_look_ups(connection.account_id, client_for(connection), gate, progress)
    lots = store_read(connection, gate)
    entries = entries_of(connection, lots, catalog)
    with transaction.atomic():
        store_import = StoreImport.objects.select_for_update().get(pk=store_import.pk)
        if store_import.status != ImportStatus.RUNNING:
            return store_import  # a duplicate delivery: the other run finished it
        plan = plan_for(store_import.account_id, store_import.provider, entries)
        if not store_import.dry_run:
            plan_apply(store_import, plan, progress)
        store_import.lots_seen = plan.lots_seen
        store_import.lots_already_ours = plan.already_ours
        store_import.items_linked = len(plan.links)
        store_import.items_created = len(plan.creates)
        store_import.unmapped = plan.unmapped
        store_import.status = ImportStatus.DONE
        store_import.error = None
        store_import.finished_at = clock.now()
        store_import.save()
    logger.info(
        "store import #%s of %s: %s lots, %s linked, %s created, %s unmapped%s",
        store_import.pk,
        store_import.provider,
        plan.lots_seen,
        len(plan.links),
        len(plan.creates),
        len(plan.unmapped),
        " (dry run)" if store_import.dry_run else "",
    )
    return store_import


def import_fail(store_import: StoreImport, code: str, message: str) -> None:
    StoreImport.objects.filter(pk=store_import.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED,
        error={"code": code, "message": message[:500], "at": clock.now().isoformat()},
        finished_at=clock.now(),
    )
    logger.warning("store import #%s failed: %s", store_import.pk, message)


def import_run(*, import_id: int) -> str:
    """One worker's run of an import: done, deferred (the limit said wait; sent again for
    then), retrying (a transient marketplace failure) or failed."""
    store_import = StoreImport.objects.filter(pk=import_id).first()
    if store_import is None or store_import.status != ImportStatus.RUNNING:
        return "not_due"
    StoreImport.objects.filter(pk=import_id).update(sent_at=clock.now())  # begun: not lost
    try:
        import_execute(store_import)
    except MustWait as wait:
        publish_import(import_id, countdown=max(0.5, wait.wait))
        return "deferred"
    except MarketplaceError as exc:
        attempts = store_import.attempts + 1
        # Backed off and tried again as the `store_import` policy says (OUTBOX_POLICIES).
        retry = policy_for("store_import").retry
        if exc.retryable and not retry.exhausted(attempts):
            StoreImport.objects.filter(pk=import_id).update(attempts=attempts)
            wait = retry.wait_after(attempts)
            publish_import(import_id, countdown=wait + retry.jitter(wait))
            return "retrying"
        import_fail(store_import, exc.code, str(exc))
        return "failed"
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task is sent again (core.tasks)
    except Exception as exc:
        logger.exception("store import #%s broke", import_id)
        import_fail(store_import, "internal_error", f"{type(exc).__name__}: {exc}")
        return "failed"
    return "done"
