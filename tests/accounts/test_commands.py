import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, Membership, User
from tests.factories import AccountFactory


def run(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


@pytest.mark.django_db
def test_create_account_prints_json_with_a_working_token(api_client):
    result = run("create_account", "Bricks & Co", "--owner", "alice", "--password", "s3cret-pass!")
    account = Account.objects.get(pk=result["account_id"])
    assert account.name == "Bricks & Co"
    assert result["username"] == "alice"
    user = User.objects.get(username="alice")
    assert user.membership.account == account
    assert user.membership.role == "owner"
    assert user.check_password("s3cret-pass!")

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {result['token']}")
    assert api_client.get("/api/v1/").json()["account"]["id"] == account.id


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["member", "owner"])
def test_add_member_prints_json_and_sets_the_role(role):
    account = AccountFactory()
    result = run("add_member", str(account.id), "bob", "--password", "s3cret-pass!", "--role", role)
    assert result["account_id"] == account.id
    assert result["username"] == "bob"
    assert len(result["token"]) == 40
    assert Membership.objects.get(user__username="bob").role == role


@pytest.mark.django_db
def test_add_member_defaults_to_member():
    account = AccountFactory()
    run("add_member", str(account.id), "carol", "--password", "s3cret-pass!")
    assert Membership.objects.get(user__username="carol").role == "member"


@pytest.mark.django_db
def test_create_account_existing_username_fails_and_writes_nothing():
    run("create_account", "First", "--owner", "dave", "--password", "s3cret-pass!")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_account", "Second", "--owner", "Dave", "--password", "s3cret-pass!")
    assert list(Account.objects.values_list("name", flat=True)) == ["First"]


@pytest.mark.django_db
def test_create_account_weak_password_fails_and_writes_nothing():
    with pytest.raises(CommandError, match=r"too short|too common"):
        call_command("create_account", "Weak", "--owner", "erin", "--password", "abc")
    assert not Account.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_add_member_unknown_account_fails_and_writes_nothing():
    with pytest.raises(CommandError, match="does not exist"):
        call_command("add_member", "999999", "frank", "--password", "s3cret-pass!")
    assert not User.objects.filter(username="frank").exists()


@pytest.mark.django_db
def test_add_member_rejects_unknown_role():
    account = AccountFactory()
    with pytest.raises(CommandError):
        call_command(
            "add_member", str(account.id), "gina", "--password", "s3cret-pass!", "--role", "admin"
        )
    assert not User.objects.filter(username="gina").exists()


@pytest.mark.django_db
def test_ensure_demo_account_is_idempotent(capsys):
    call_command("ensure_demo_account")
    call_command("ensure_demo_account")
    assert Account.objects.count() == 1
    demo = User.objects.get(username="demo")
    assert demo.is_staff
    assert demo.membership.role == "owner"
