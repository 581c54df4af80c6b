import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import AccountError, member_add


class Command(BaseCommand):
    help = "Add a user to an account; prints one line of JSON with the token."

    def add_arguments(self, parser):
        parser.add_argument("account_id", type=int)
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)

    def handle(self, *args, **options):
        try:
            result = member_add(
                account_id=options["account_id"],
                username=options["username"],
                password=options["password"],
                role=options["role"],
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict()))
