from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.services import reference_sync
from marketplaces.errors import MarketplaceError


class Command(BaseCommand):
    help = "Fetch BrickLink's colors and categories (2 calls from the platform's quota)."

    def handle(self, *args, **options):
        with tqdm(total=0, unit="row", desc="reference data", file=self.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                colors, categories = reference_sync(progress=progress)
            except MarketplaceError as exc:
                raise CommandError(f"BrickLink: {exc}") from exc
        self.stdout.write(f"{colors} colors and {categories} categories are up to date.")
