"""A chunk of an upload: many syncs claimed under one token (outbox ``claim_batch``), each
ending like a single sync's run -- synced with the lot it now has, failed or retrying with its
error, handed to a single sync, or put back to wait -- and every write fenced by the claim.

What the marketplace answered is kept as it arrives (:meth:`Chunk.record`) and written in one
go when the chunk settles (:meth:`Chunk.settle`): a sync whose item is still at the version the
lot was made from, and whose lot matches it, is synced; one whose item changed meanwhile keeps
its lot and goes to a single sync, which converges it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from core import clock
from marketplaces.errors import MarketplaceError
from outbox.claims import Claim, error_record, give_up, held_of, put_back, retry_or_give_up
from ratelimit.budget import MustWait

from .. import work
from ..models import InventoryItem, SyncState, SyncStatus
from .base import Gate, call_error, synced_fields

logger = logging.getLogger(__name__)

# A batch the marketplace refused as a whole: its syncs go one by one (and never in a batch
# again until they succeed), so the one at fault is named on its own item.
REFUSED = "batch_refused"


@dataclass
class Found:
    lot_id: str
    confirmed: dict[str, Any]
    in_sync: bool  # the lot is the item as it was read


@dataclass
class Chunk:
    claims: list[Claim]
    items: dict[int, InventoryItem]  # by item id, as read when the chunk began
    gate: Gate
    found: dict[int, Found] = field(default_factory=dict)  # by sync state pk
    ended: set[int] = field(default_factory=set)  # failed, retrying, handed over
    # The soonest a sync put back (retrying, waiting) is due again: the upload comes back
    # then (its syncs get no message of their own).
    back_in: float | None = None
    by_pk: dict[int, Claim] = field(init=False)

    def __post_init__(self) -> None:
        self.by_pk = {claim.pk: claim for claim in self.claims}

    @classmethod
    def of(cls, claims: list[Claim], gate: Gate) -> Chunk:
        ids = [claim.row["item_id"] for claim in claims]
        return cls(claims, InventoryItem.objects.in_bulk(ids), gate)

    def item(self, pk: int) -> InventoryItem:
        return self.items[self.by_pk[pk].row["item_id"]]

    def open(self) -> list[int]:
        """The syncs with nothing settled yet (in claim order)."""
        return [c.pk for c in self.claims if c.pk not in self.found and c.pk not in self.ended]

    def doubtful(self) -> list[int]:
        """Open syncs whose lot may exist unanswered: found first, never created blindly."""
        return [pk for pk in self.open() if self.by_pk[pk].row["in_doubt"]]

    def lots_of(
        self, lots: list[Any], pks: list[int], owner_of: Callable[[Any], int | None]
    ) -> dict[int, list[Any]]:
        """Each of ``pks``' lots among ``lots`` (by the item ``owner_of`` says a lot is ours
        for: our marker, our external id)."""
        wanted = {self.item(pk).pk for pk in pks}
        mine: dict[int, list[Any]] = {}
        for lot in lots:
            owner = owner_of(lot)
            if owner in wanted:
                mine.setdefault(owner, []).append(lot)
        return {pk: mine.get(self.item(pk).pk, []) for pk in pks}

    def record(self, pk: int, lot_id: str, confirmed: dict[str, Any], *, in_sync: bool) -> None:
        self.found[pk] = Found(lot_id, confirmed, in_sync)

    @contextmanager
    def mutation(self, pks: list[int]) -> Iterator[None]:
        """Mark ``pks`` in doubt before a call that creates their lots; clear it when the call
        fails definitely (nothing applied) or is refused before it is made."""
        if pks:
            held_of(self._claims(pks)).update(in_doubt=True, updated_at=clock.now())
        for pk in pks:
            self.by_pk[pk].row["in_doubt"] = True
        try:
            yield
        except MarketplaceError as exc:
            if not exc.ambiguous:
                self.doubt_cleared(pks)
            raise
        except MustWait:
            self.doubt_cleared(pks)
            raise

    def fail(self, pk: int, exc: MarketplaceError, *, in_doubt: bool | None = None) -> None:
        """One sync's call failed: as a single run's failure (give up, or back off). In doubt
        afterwards when the failure was ambiguous -- or when ``in_doubt`` says so: a lot that
        was created and could not be listed yet."""
        claim = self.by_pk[pk]
        now = clock.now()
        error = call_error(exc, now)
        doubt = {"in_doubt": bool(exc.ambiguous) if in_doubt is None else in_doubt}
        if exc.retryable:
            outcome, delay = retry_or_give_up(claim, error, now=now, hint=False, **doubt)
            if outcome == "retrying":
                self._back_in(delay)
        else:
            give_up(claim, error, now=now, **doubt)
        self.ended.add(pk)

    def fail_open(self, exc: MarketplaceError) -> None:
        """Every sync still open fails with ``exc``, each as in doubt as it is now."""
        for pk in self.open():
            self.fail(pk, exc, in_doubt=bool(self.by_pk[pk].row["in_doubt"]))

    def give_up(self, pk: int, code: str, message: str) -> None:
        error = error_record(code, message, at=clock.now(), provider=self.gate.provider)
        give_up(self.by_pk[pk], error, now=clock.now())
        self.ended.add(pk)
        logger.warning(
            "sync of #%s on %s failed: %s", self.item(pk).pk, self.gate.provider, message
        )

    def hand_over(self, pks: list[int], reason: str, *, refused: bool = False) -> None:
        """To single syncs, now (a refused batch; duplicates only a single run clears)."""
        if not pks:
            return
        now = clock.now()
        error = error_record(REFUSED, reason, at=now, provider=self.gate.provider)
        held = held_of(self._claims(pks))
        with transaction.atomic():
            released = list(held.select_for_update().values_list("pk", flat=True))
            held.update(
                claim_token=None,
                lease_expires_at=None,
                status=SyncStatus.SYNCING,
                next_attempt_at=now,
                dispatched_at=now,
                updated_at=now,
                **({"last_error": error} if refused else {}),
            )
        for pk in released:
            row = self.by_pk[pk].row
            transaction.on_commit(
                lambda row=row: work.publish_sync(row["item_id"], row["provider"])
            )
        self.ended.update(pks)

    def put_back(self, wait: MustWait) -> None:
        """The open syncs wait their turn (not an attempt). The calls the chunk paid for and
        did not spend go on the first, so the next run that takes it spends them."""
        now = clock.now()
        unspent = {
            "calls_reserved": self.gate.budget.held,
            "calls_usable_at": self.gate.budget.usable_at,
        }
        for pk in self.open():
            delay = put_back(
                self.by_pk[pk], wait=wait.wait, now=now, retry=False, hint=False, **unspent
            )
            self._back_in(delay)
            unspent = {}
            self.ended.add(pk)

    def settle(self) -> int:
        """Write what was found and release every claim still open. Answers how many syncs
        are now synced."""
        now = clock.now()
        synced = 0
        with transaction.atomic():
            mine = set(held_of(self.claims).select_for_update().values_list("pk", flat=True))
            found = {pk: f for pk, f in self.found.items() if pk in mine}
            ids = [self.by_pk[pk].row["item_id"] for pk in found]
            versions = dict(InventoryItem.objects.filter(pk__in=ids).values_list("pk", "version"))
            rows = [
                SyncState(pk=pk, lot_id=f.lot_id, confirmed=f.confirmed) for pk, f in found.items()
            ]
            SyncState.objects.bulk_update(rows, ["lot_id", "confirmed"], batch_size=500)
            done, again = [], []
            for pk, f in found.items():
                item = self.item(pk)
                (done if f.in_sync and versions.get(item.pk) == item.version else again).append(pk)
            release = {
                "claim_token": None,
                "lease_expires_at": None,
                "confirmed_at": now,
                "in_doubt": False,
                "recheck": False,
                "updated_at": now,
            }
            # The version each item was synced at differs: grouped by it, one UPDATE each.
            by_version: dict[int, list[int]] = {}
            for pk in done:
                by_version.setdefault(self.item(pk).version, []).append(pk)
            for version, pks in by_version.items():
                synced += SyncState.objects.filter(pk__in=pks).update(
                    **release, **synced_fields(version, now)
                )
            SyncState.objects.filter(pk__in=again).update(
                **release, next_attempt_at=now, dispatched_at=now
            )
            # Not reached (the chunk stopped early): back to waiting, for the next run.
            untouched = [pk for pk in self.open() if pk in mine]
            SyncState.objects.filter(pk__in=untouched).update(
                claim_token=None, lease_expires_at=None, next_attempt_at=now, dispatched_at=None
            )
            for pk in again:
                row = self.by_pk[pk].row
                transaction.on_commit(
                    lambda row=row: work.publish_sync(row["item_id"], row["provider"])
                )
        self.ended.update(self.found)
        self.found = {}
        return synced

    def _back_in(self, delay: float) -> None:
        if delay >= 0:
            self.back_in = delay if self.back_in is None else min(self.back_in, delay)

    def _claims(self, pks: list[int]) -> list[Claim]:
        return [self.by_pk[pk] for pk in pks]

    def doubt_cleared(self, pks: list[int]) -> None:
        if not pks:
            return
        held_of(self._claims(pks)).update(in_doubt=False, updated_at=clock.now())
        for pk in pks:
            self.by_pk[pk].row["in_doubt"] = False
