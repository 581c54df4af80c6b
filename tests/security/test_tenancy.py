"""Tenant isolation and roles over EVERY operation of the live OpenAPI schema.

The operations are read from ``/api/schema/``: a new endpoint fails these tests until it is
classified (scoped object, scoped list, account-level, global catalog, public) and given a row
in the role matrix of ``docs/api-v1.md``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from core import clock
from inventory import services
from inventory.models import InventoryHistory, InventoryItem, MarketplaceConnection, SyncState
from orders.models import Order, OrderFeed, OrderLine
from takeover.models import StoreImport
from tests.factories import PASSWORD, UserFactory, token_for

from .conftest import BRICKLINK_SECRETS, Tenant, fill

pytestmark = pytest.mark.django_db

NEVER_EXISTED = 987_654_321
# Fields of a request body that name a global catalog object, not one of an account's.
GLOBAL_REFERENCES = {"color_id", "category_id"}

# Expected status per caller: (owner, member, user without an account). Anonymous is 401.
ROLE_MATRIX = {
    ("GET", "/api/v1/"): (200, 200, 200),
    ("POST", "/api/v1/auth/token/"): (200, 200, 200),
    ("GET", "/api/v1/catalog/categories/"): (200, 200, 200),
    ("GET", "/api/v1/catalog/colors/"): (200, 200, 200),
    ("GET", "/api/v1/catalog/parts/{no}/"): (200, 200, 200),
    ("GET", "/api/v1/catalog/parts/{no}/colors/"): (200, 200, 200),
    ("POST", "/api/v1/catalog/parts/{no}/colors/refresh/"): (202, 202, 202),
    ("GET", "/api/v1/catalog/parts/{no}/price-guide/"): (200, 200, 200),
    ("POST", "/api/v1/catalog/parts/{no}/price-guide/refresh/"): (202, 202, 202),
    ("POST", "/api/v1/catalog/parts/{no}/refresh/"): (202, 202, 202),
    ("POST", "/api/v1/catalog/refresh/"): (202, 202, 202),
    ("GET", "/api/v1/inventory/items/"): (200, 200, 403),
    ("POST", "/api/v1/inventory/items/"): (201, 201, 403),
    ("GET", "/api/v1/inventory/items/{item_id}/"): (200, 200, 403),
    ("PATCH", "/api/v1/inventory/items/{item_id}/"): (200, 403, 403),
    ("DELETE", "/api/v1/inventory/items/{item_id}/"): (204, 403, 403),
    ("GET", "/api/v1/inventory/items/{item_id}/history/"): (200, 200, 403),
    ("POST", "/api/v1/inventory/items/{item_id}/sync/"): (202, 202, 403),
    # Sent without a file: the owner's answer is the 400 of the missing file.
    ("POST", "/api/v1/inventory/import/"): (400, 403, 403),
    ("GET", "/api/v1/inventory/export/"): (200, 403, 403),
    ("GET", "/api/v1/marketplaces/"): (200, 403, 403),
    ("GET", "/api/v1/marketplaces/bricklink/"): (200, 403, 403),
    ("PUT", "/api/v1/marketplaces/bricklink/"): (200, 403, 403),
    ("GET", "/api/v1/marketplaces/brickowl/"): (200, 403, 403),
    ("PUT", "/api/v1/marketplaces/brickowl/"): (200, 403, 403),
    ("GET", "/api/v1/orders/"): (200, 200, 403),
    ("GET", "/api/v1/orders/{order_id}/"): (200, 200, 403),
    ("POST", "/api/v1/orders/{order_id}/lines/{line_id}/pick/"): (200, 200, 403),
    ("GET", "/api/v1/orders/picklist/"): (200, 200, 403),
    ("POST", "/api/v1/orders/sync/"): (202, 202, 403),
    ("POST", "/api/v1/marketplaces/{provider}/import/"): (202, 403, 403),
    ("GET", "/api/v1/imports/{import_id}/"): (200, 403, 403),
    # A store's push URL: no authentication, the secret in the path names the store.
    ("POST", "/api/v1/hooks/bricklink/{secret}/"): (204, 204, 204),
    ("GET", "/api/v1/hooks/brickowl/{secret}/"): (204, 204, 204),
}
PUBLIC = {
    ("POST", "/api/v1/auth/token/"),
    ("POST", "/api/v1/hooks/bricklink/{secret}/"),
    ("GET", "/api/v1/hooks/brickowl/{secret}/"),
}
BODIES = {
    ("POST", "/api/v1/catalog/parts/{no}/price-guide/refresh/"): {"color_id": 11},
    ("POST", "/api/v1/catalog/refresh/"): {"items": [{"kind": "part", "no": "3001"}]},
    ("POST", "/api/v1/inventory/items/"): {
        "part_number": "3001",
        "color_id": 11,
        "condition": "new",
    },
    ("PATCH", "/api/v1/inventory/items/{item_id}/"): {"quantity_available": 7},
    ("PUT", "/api/v1/marketplaces/bricklink/"): {"enabled": False},
    ("PUT", "/api/v1/marketplaces/brickowl/"): {"enabled": False},
    ("POST", "/api/v1/orders/{order_id}/lines/{line_id}/pick/"): {"pick_status": "picked"},
    ("POST", "/api/v1/marketplaces/{provider}/import/"): {"dry_run": True},
}
QUERIES = {("GET", "/api/v1/catalog/parts/{no}/price-guide/"): "?color_id=11"}


def operations() -> list[tuple[str, str, dict]]:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    found = [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and not path.startswith("/api/v1/_")  # a test's own route (tests/core/test_errors.py)
    ]
    assert len(found) >= 21
    return found


def client(token: str | None) -> Client:
    caller = Client(HTTP_AUTHORIZATION=f"Token {token}") if token else Client()
    caller.raise_request_exception = False
    return caller


def send(caller: Client, method: str, path: str, ids: dict | None = None, body=None):
    url = fill(path, ids or {}) + QUERIES.get((method, path), "")
    if body is None:
        body = BODIES.get((method, path))
    if body is None:
        return getattr(caller, method.lower())(url)
    return getattr(caller, method.lower())(url, data=body, content_type="application/json")


def snapshot(tenant: Tenant) -> dict:
    """Everything of an account another account's caller could have changed."""
    items = InventoryItem.objects.filter(account=tenant.account).order_by("pk")
    return {
        "items": list(items.values()),
        "orders": list(Order.objects.filter(account=tenant.account).values()),
        "lines": list(OrderLine.objects.filter(order__account=tenant.account).values()),
        "feeds": list(OrderFeed.objects.filter(account=tenant.account).values()),
        "imports": list(StoreImport.objects.filter(account=tenant.account).values()),
        "history": InventoryHistory.objects.filter(account=tenant.account).count(),
        "connections": [
            (c.provider, c.enabled, c.credentials, c.updated_at)
            for c in MarketplaceConnection.objects.filter(account=tenant.account).order_by("pk")
        ],
    }


def classify(method: str, path: str, operation: dict) -> str:
    parameters = {p["name"] for p in operation.get("parameters", [])}
    if (method, path) in PUBLIC:
        return "public"
    if path.startswith("/api/v1/catalog/"):
        return "global"
    if "{item_id}" in path or "{order_id}" in path or "{import_id}" in path:
        return "scoped_object"
    if method == "GET" and "page" in parameters:
        return "scoped_list"
    if path in (
        "/api/v1/",
        "/api/v1/marketplaces/",
        "/api/v1/orders/sync/",
        "/api/v1/inventory/import/",
        "/api/v1/inventory/export/",
    ):
        return "account_level"
    if path.startswith("/api/v1/marketplaces/"):
        return "account_level"
    if method == "POST" and path == "/api/v1/inventory/items/":
        return "scoped_create"
    return "unclassified"


def test_every_operation_is_classified_and_in_the_role_matrix():
    seen = {(method, path) for method, path, _ in operations()}
    assert seen == set(ROLE_MATRIX), "add new operations to ROLE_MATRIX and classify()"
    unclassified = [
        (method, path)
        for method, path, op in operations()
        if classify(method, path, op) == "unclassified"
    ]
    assert unclassified == []


def test_no_write_references_an_account_scoped_object_by_id():
    """A body naming one of an account's objects would need a 400-for-another-account's test;
    today only global catalog ids travel in bodies. A new reference fails here first."""
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    def fields(node, seen=()) -> set[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                return set() if name in seen else fields(components[name], (*seen, name))
            found = set(node.get("properties", {}))
            for value in node.values():
                found |= fields(value, seen)
            return found
        if isinstance(node, list):
            return set().union(*(fields(value, seen) for value in node)) if node else set()
        return set()

    referenced = set()
    for _, _, operation in operations():
        body = operation.get("requestBody", {}).get("content", {})
        referenced |= {
            f for f in fields(body) if f.endswith("_id") or f in ("id", "item", "account")
        }
    assert referenced <= GLOBAL_REFERENCES, referenced - GLOBAL_REFERENCES


def test_another_accounts_objects_are_404_on_every_operation_that_takes_one(tenants, no_publishing):
    mine, theirs = tenants
    live, archived = theirs.items[0], theirs.items[2]
    before = snapshot(theirs)
    checked = 0
    never = {"item_id": NEVER_EXISTED, "order_id": NEVER_EXISTED, "line_id": NEVER_EXISTED}
    theirs_line = theirs.order.lines.get().pk
    targets = [
        theirs.ids(live),
        theirs.ids(archived),
        # Their line through my order, and my line through their order: each a 404 too.
        {**mine.ids(), "line_id": theirs_line},
        {**mine.ids(), "order_id": theirs.order.pk},
    ]
    for method, path, operation in operations():
        if classify(method, path, operation) != "scoped_object":
            continue
        for role, token in (("owner", mine.owner_token), ("member", mine.member_token)):
            caller = client(token)
            absent = send(caller, method, path, never).status_code
            # 404 whatever the caller's role: a member's PATCH of an id it cannot see is not
            # a 403 (docs/api-v1.md: "404, never 403"); only its own item answers 403.
            assert absent == 404, (method, path, role, absent)
            for target in targets:
                if "{line_id}" not in path and target in targets[2:]:
                    continue
                if ("{item_id}" in path or "{import_id}" in path) and target in targets[2:]:
                    continue
                response = send(caller, method, path, target)
                # The same answer as for an id that never existed: nothing leaks.
                assert response.status_code == absent, (method, path, role, response.content)
                assert str(theirs.account.name) not in response.content.decode()
                checked += 1
    assert checked >= 5 * 2 * 2
    assert snapshot(theirs) == before
    theirs_ids = {item.pk for item in theirs.items}
    assert not [args for args in no_publishing if args and args[0] in theirs_ids]


def test_lists_never_include_another_accounts_objects(tenants):
    mine, theirs = tenants
    filters = [
        "",
        "?part_number=3001",
        "?color_id=11",
        "?status=available",
        "?condition=new",
        "?sync_status=disabled",
        "?sync_status=pending",
        "?page_size=500",
    ]
    theirs_ids = {item.pk for item in theirs.items}
    lists = [(m, p) for m, p, op in operations() if classify(m, p, op) == "scoped_list"]
    assert lists
    for tenant in tenants:  # both accounts have items in every sync status the filters ask
        for item, status in zip(tenant.items[:2], ("pending", "failed"), strict=True):
            SyncState.objects.update_or_create(
                item=item,
                provider="bricklink",
                defaults={"status": status, "updated_at": clock.now()},
            )
    for _, path in lists:
        for token in (mine.owner_token, mine.member_token):
            for query in filters:
                response = client(token).get(path + query)
                assert response.status_code == 200, (path, query, response.content)
                results = response.json()["results"]
                if query in ("", "?sync_status=pending"):
                    assert results, (path, query)
                assert not {row["id"] for row in results} & theirs_ids
                assert "Theirs" not in response.content.decode()
    # An item's own history lists only that item's changes.
    history = client(mine.owner_token).get(f"/api/v1/inventory/items/{mine.items[0].pk}/history/")
    assert history.status_code == 200
    assert len(history.json()["results"]) == 1


def test_account_level_operations_see_and_change_only_the_callers_account(tenants):
    mine, theirs = tenants
    MarketplaceConnection.objects.filter(account=theirs.account, provider="bricklink").update(
        enabled=True
    )
    before = snapshot(theirs)
    owner = client(mine.owner_token)
    me = owner.get("/api/v1/").json()
    assert me["account"]["id"] == mine.account.pk
    listed = owner.get("/api/v1/marketplaces/").json()
    assert {row["provider"]: row["enabled"] for row in listed} == {
        "bricklink": False,
        "brickowl": False,
    }
    for provider, credentials in (("bricklink", BRICKLINK_SECRETS), ("brickowl", {"api_key": "k"})):
        response = send(
            owner,
            "PUT",
            f"/api/v1/marketplaces/{provider}/",
            body={
                "enabled": True,
                "credentials": {**credentials},
                "account": theirs.account.pk,
            },
        )
        assert response.status_code == 200, response.content
    created = send(owner, "POST", "/api/v1/inventory/items/")
    assert created.status_code == 201
    assert InventoryItem.objects.get(pk=created.json()["id"]).account_id == mine.account.pk
    assert snapshot(theirs) == before


def test_the_role_matrix_of_the_contract(tenants, no_publishing):
    mine, _ = tenants
    loner = UserFactory()  # authenticated, but in no account (e.g. a staff-only user)
    callers = {
        "owner": (mine.owner, mine.owner_token),
        "member": (mine.member, mine.member_token),
        "no_account": (loner, token_for(loner)),
    }
    mismatches = []
    for method, path, _ in operations():
        expected = dict(zip(callers, ROLE_MATRIX[method, path], strict=True))
        public = (method, path) in PUBLIC
        expected["anonymous"] = ROLE_MATRIX[method, path][0] if public else 401
        for role, status in expected.items():
            user, token = callers.get(role, (None, None))
            item = services.item_create(
                account=mine.account,
                actor=mine.owner,
                data={"part_number": "3004", "color_id": 11, "condition": "new"},
            )
            body = None
            if public:  # no credentials but the body's (or the path's), whoever asks
                if "/auth/token/" in path:
                    username = (user or mine.owner).get_username()
                    body = {"username": username, "password": PASSWORD}
                token = None
            response = send(client(token), method, path, mine.ids(item), body=body)
            if response.status_code != status:
                mismatches.append((method, path, role, status, response.status_code))
    assert mismatches == []
