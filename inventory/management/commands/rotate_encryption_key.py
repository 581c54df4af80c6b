from django.core.management.base import BaseCommand, CommandError

from inventory.services import credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored marketplace credential under the first key of "
        "FIELD_ENCRYPTION_KEY (comma-separated, newest first). Idempotent: run it after "
        "putting a new key first, then drop the old key."
    )

    def handle(self, *args, **options):
        result = credentials_rotate()
        self.stdout.write(
            f"rotated {result.rotated}, already under the first key {result.current}, "
            f"unreadable {len(result.unreadable)}"
        )
        if result.unreadable:
            ids = ", ".join(str(connection_id) for connection_id in result.unreadable)
            raise CommandError(
                f"credentials of connection(s) {ids} cannot be decrypted with any key of "
                "FIELD_ENCRYPTION_KEY: left as they are. Keep the old key until they are "
                "re-entered or the right key is added."
            )
