from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import Account, Membership, Role, User


@dataclass(frozen=True)
class AccountUser:
    account_id: int
    username: str
    token: str

    def as_dict(self) -> dict[str, object]:
        return {"account_id": self.account_id, "username": self.username, "token": self.token}


class AccountError(ValueError):
    """Bad input to an account service; nothing was written."""


def _user_create(*, account: Account, username: str, password: str, role: str) -> AccountUser:
    if role not in Role.values:
        raise AccountError(f"role must be one of {', '.join(Role.values)}, not {role!r}.")
    username = username.strip()
    if not username:
        raise AccountError("username must not be empty.")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"user {username!r} already exists (a user belongs to one account).")
    user = User(username=username)
    try:
        User.username_validator(username)
        validate_password(password, user=user)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, account=account, role=role)
    token = Token.objects.create(user=user)
    return AccountUser(account_id=account.id, username=user.username, token=token.key)


def account_create(*, name: str, owner_username: str, password: str) -> AccountUser:
    name = name.strip()
    if not name:
        raise AccountError("account name must not be empty.")
    with transaction.atomic():
        account = Account.objects.create(name=name)
        return _user_create(
            account=account, username=owner_username, password=password, role=Role.OWNER
        )


def member_add(
    *, account_id: int, username: str, password: str, role: str = Role.MEMBER
) -> AccountUser:
    with transaction.atomic():
        account = Account.objects.filter(pk=account_id).first()
        if account is None:
            raise AccountError(f"account {account_id} does not exist.")
        return _user_create(account=account, username=username, password=password, role=role)


def auth_token_get_or_create(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
