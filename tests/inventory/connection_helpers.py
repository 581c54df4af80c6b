"""Requests and checks shared by the marketplace connection tests
(tests/inventory/test_connections_*.py)."""

import re

from django.db import connection

from inventory import services
from inventory.models import MarketplaceConnection

MARKETPLACES = "/api/v1/marketplaces/"
BRICKLINK = f"{MARKETPLACES}bricklink/"
BRICKOWL = f"{MARKETPLACES}brickowl/"

BRICKLINK_CREDENTIALS = {
    "consumer_key": "bl-consumer-key-7f3a",
    "consumer_secret": "bl-consumer-secret-91c2",
    "token_value": "bl-token-value-5d0e",
    "token_secret": "bl-token-secret-c4b8",
}
BRICKOWL_CREDENTIALS = {"api_key": "owl-api-key-2e6f"}
SECRETS = [*BRICKLINK_CREDENTIALS.values(), *BRICKOWL_CREDENTIALS.values()]


def assert_no_secret(text: str, secrets=SECRETS) -> None:
    for secret in secrets:
        assert secret not in text


def error_of(response, status, code="validation_error"):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def raw_credentials(account, provider) -> str | None:
    """The column as PostgreSQL stores it, past the model field's decryption."""
    table = MarketplaceConnection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials FROM {table} WHERE account_id = %s AND provider = %s",
            [account.id, provider],
        )
        return cursor.fetchone()[0]


def make_item(account, **data):
    return services.item_create(
        account=account,
        actor=None,
        data={"part_number": "3001", "color_id": 11, "condition": "new", **data},
    )


def without_push_url(answer: dict) -> dict:
    """A connection's answer less its push URL (tests/orders/test_api.py checks that)."""
    url = answer.pop("callback_url")
    assert url is None or re.fullmatch(r"http://testserver/api/v1/hooks/\w+/[\w-]{40,}/", url)
    return answer
