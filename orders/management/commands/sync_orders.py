"""``manage.py sync_orders --account N [--provider P] [--since DATE]``: bring a store's orders in
now, here, with a progress bar -- a first import of history, or a catch-up. Orders placed
before the store was followed are stored as history (with their items) and move no stock;
newer ones have their effects, exactly once, as when the workers bring them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Account
from inventory.models import MarketplaceConnection, Provider
from marketplaces.errors import MarketplaceError, NotFound
from orders.effects import order_record
from orders.services import feed_for
from orders.store import StoreOrders
from ratelimit.budget import MustWait

# The longest a command waits for a marketplace's limit before giving up.
MAX_WAIT_SECONDS = 120


def since_date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since takes a date like 2026-01-31, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Fetch an account's orders from its stores now (a first import of history, or now)."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True, help="account id")
        parser.add_argument("--provider", choices=Provider.values)
        parser.add_argument(
            "--since", type=since_date, help="orders placed from this date (default: all listed)"
        )

    def handle(self, *args, account: int, provider: str | None, since: datetime | None, **opts):
        if not Account.objects.filter(pk=account).exists():
            raise CommandError(f"account {account} does not exist")
        connections = MarketplaceConnection.objects.filter(account_id=account, enabled=True)
        if provider:
            connections = connections.filter(provider=provider)
        connections = [c for c in connections if c.configured]
        if not connections:
            raise CommandError(f"account {account} has no enabled store to read orders from")
        for connection in connections:
            self.import_store(connection, since)

    def import_store(self, connection: MarketplaceConnection, since: datetime | None) -> None:
        feed = feed_for(connection)
        store = StoreOrders(connection, since=feed.since, with_history_items=True)
        listed = self.patiently(lambda: store.listed(placed_since=since))
        if store.provider == Provider.BRICKLINK:
            listed += self.patiently(lambda: store.listed(placed_since=since, filed=True))
        todo = store.new_or_changed(listed)
        stored = 0
        with tqdm(total=len(todo), unit="order", desc=store.provider, file=self.stderr) as bar:
            for entry in todo:
                try:
                    snapshot = self.patiently(lambda entry=entry: store.fetch(entry))
                except NotFound:
                    bar.update(1)
                    continue
                recorded = order_record(
                    account_id=store.account_id, snapshot=snapshot, since=store.since
                )
                stored += recorded.changed
                bar.update(1)
        self.stdout.write(
            f"{store.provider}: {len(listed)} order(s) listed, {len(todo)} new or changed, "
            f"{stored} stored; {store.gate.calls} call(s)."
        )

    def patiently(self, call):
        """Wait out the store's limit (a command may wait; a worker never does)."""
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while True:
            try:
                return call()
            except MustWait as wait:
                if time.monotonic() + wait.wait > deadline:
                    raise CommandError(
                        f"the marketplace's limit is reached ({wait.reason}); try again in "
                        f"{wait.wait:.0f} s"
                    ) from None
                time.sleep(wait.wait)
            except MarketplaceError as exc:
                if isinstance(exc, NotFound):
                    raise
                raise CommandError(str(exc)) from None
