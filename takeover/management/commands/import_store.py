"""``manage.py import_store --account N --provider P [--dry-run]``: take over a seller's
existing store now, here, with a progress bar -- the same run as ``POST
/api/v1/marketplaces/{provider}/import/``, without a worker. Prints the report."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Account
from inventory.models import Provider
from marketplaces.errors import MarketplaceError
from ratelimit.budget import MustWait
from takeover.models import StoreImport
from takeover.services import TakeoverRefused, import_begin, import_execute, import_fail

# The longest the command waits for a marketplace's limit before giving up.
MAX_WAIT_SECONDS = 120


class Command(BaseCommand):
    help = "Take over an account's existing BrickLink or BrickOwl store (link every lot)."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True, help="account id")
        parser.add_argument("--provider", required=True, help="bricklink or brickowl")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what it would do; write nothing"
        )

    def handle(self, *args, account: int, provider: str, dry_run: bool, **options):
        if provider not in Provider.values:
            raise CommandError(f"--provider must be one of {', '.join(Provider.values)}")
        owner = Account.objects.filter(pk=account).first()
        if owner is None:
            raise CommandError(f"account {account} does not exist")
        try:
            store_import = import_begin(
                account=owner, provider=provider, dry_run=dry_run, actor=None, publish=False
            )
        except TakeoverRefused as exc:
            raise CommandError(str(exc)) from None
        try:
            store_import = self.patiently(store_import)
        except CommandError as exc:
            import_fail(store_import, "command_failed", str(exc))
            raise
        except BaseException as exc:
            import_fail(store_import, "command_failed", f"{type(exc).__name__}: {exc}")
            raise
        self.report(store_import)

    def progress(self, what: str, total: int) -> tqdm:
        return tqdm(total=total, unit=what.rstrip("s").lower(), desc=what, file=self.stderr)

    def patiently(self, store_import: StoreImport) -> StoreImport:
        """Wait out the store's limit (a command may wait; a worker never does)."""
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while True:
            try:
                return import_execute(store_import, progress=self.progress)
            except MustWait as wait:
                if time.monotonic() + wait.wait > deadline:
                    raise CommandError(
                        f"the marketplace's limit is reached ({wait.reason}); try again in "
                        f"{wait.wait:.0f} s"
                    ) from None
                time.sleep(max(wait.wait, 0.1))
            except MarketplaceError as exc:
                raise CommandError(str(exc)) from None

    def report(self, store_import: StoreImport) -> None:
        self.stdout.write(
            f"import #{store_import.pk} of {store_import.provider}"
            f"{' (dry run: nothing written)' if store_import.dry_run else ''}: "
            f"{store_import.lots_seen} lot(s), {store_import.lots_already_ours} already linked, "
            f"{store_import.items_linked} linked to existing items, "
            f"{store_import.items_created} new item(s), {len(store_import.unmapped)} unmapped."
        )
        for entry in store_import.unmapped[:20]:
            self.stdout.write(f"  lot {entry['lot_id']}: {entry['reason']}")
        if len(store_import.unmapped) > 20:
            self.stdout.write(f"  ... and {len(store_import.unmapped) - 20} more")
