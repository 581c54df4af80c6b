from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Account
from inventory.models import Provider
from inventory.reconcile import reconcile_account
from marketplaces.errors import MarketplaceError
from ratelimit.budget import MustWait


class Command(BaseCommand):
    help = (
        "List an account's marketplace stores and repair drift: missing lots, wrong "
        "quantities, orphan lots carrying our marker. Reports every change."
    )

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True, help="account id")
        parser.add_argument("--provider", choices=Provider.values)
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")

    def handle(self, *args, account: int, provider: str | None, dry_run: bool, **options):
        target = Account.objects.filter(pk=account).first()
        if target is None:
            raise CommandError(f"account {account} does not exist")
        with tqdm(total=0, unit="lot", desc="reconciling", file=self.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                repairs = reconcile_account(
                    account=target,
                    provider=provider,
                    dry_run=dry_run,
                    progress=progress,
                    run_syncs=True,
                )
            except MustWait as wait:
                raise CommandError(
                    f"the marketplace's limit is reached ({wait.reason}); try again in "
                    f"{wait.wait:.0f} s"
                ) from None
            except MarketplaceError as exc:
                raise CommandError(str(exc)) from None
        for repair in repairs:
            self.stdout.write(("would " if dry_run else "") + str(repair))
        verb = "would repair" if dry_run else "repaired"
        self.stdout.write(f"{verb} {len(repairs)} difference(s) for account {account}.")
