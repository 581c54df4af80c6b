from django.core.management.base import BaseCommand

from core.services import periodic_schedules_sync


class Command(BaseCommand):
    help = (
        "Create or update the project's periodic tasks for beat. Idempotent: schedules and the "
        "enabled flag an operator changed in the admin are kept unless --reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="also put schedules and enabled flags back"
        )

    def handle(self, *args, reset: bool, **options):
        for name, created in periodic_schedules_sync(reset=reset):
            self.stdout.write(f"{'created' if created else 'kept   '} {name}")
