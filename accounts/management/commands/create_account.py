import json

from django.core.management.base import BaseCommand, CommandError

from accounts.services import AccountError, account_create


class Command(BaseCommand):
    help = "Create a business account and its owner; prints one line of JSON with the token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the account's name")
        parser.add_argument("--owner", required=True, help="the owner's username")
        parser.add_argument("--password", required=True, help="the owner's password")

    def handle(self, *args, **options):
        try:
            result = account_create(
                name=options["name"], owner_username=options["owner"], password=options["password"]
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result.as_dict()))
