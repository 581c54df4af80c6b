from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import AccountError, account_create, auth_token_get_or_create


class Command(BaseCommand):
    help = (
        "Create the demo account (owner who may also log into the admin) if it does not exist, "
        "and print its token. For `make run`; refused under production settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="brickops-demo")
        parser.add_argument("--account-name", default="Demo Brick Store")

    def handle(self, *args, username, password, account_name, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Refusing to create a demo account with a known password in production."
            )
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user is None:
                try:
                    account_create(name=account_name, owner_username=username, password=password)
                except AccountError as exc:
                    raise CommandError(str(exc)) from exc
                user = User.objects.get(username=username)
                created = True
            else:
                created = False
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
            token = auth_token_get_or_create(user=user)
        verb = "Created" if created else "Using"
        self.stdout.write(
            f"{verb} demo account {user.membership.account.name!r} "
            f"(id {user.membership.account_id}).\n"
            f"  API token:   {token}\n"
            f"  Admin login: {username} / {password}  (http://127.0.0.1:8000/admin/)\n"
            f"  Try:         curl -H 'Authorization: Token {token}' http://127.0.0.1:8000/api/v1/"
        )
