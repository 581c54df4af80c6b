"""The orders API of the contract (docs/api-v1.md, Orders): list and filters, detail, picking,
the pick list, asking for orders now, and the marketplaces' push URLs."""

import io
import logging

import pytest

from inventory.models import MarketplaceConnection
from orders.models import FeedStatus, OrderFeed
from tests.factories import (
    InventoryItemFactory,
    MarketplaceConnectionFactory,
    OrderFactory,
    OrderLineFactory,
)

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def no_publishing(monkeypatch):
    from orders import work

    sent: list = []
    monkeypatch.setattr(work, "publish_feed", lambda *args, **kw: sent.append(args))
    return sent


def test_orders_are_listed_newest_first_and_filtered(member_client, account):
    old = OrderFactory(account=account, provider="bricklink", state="completed")
    new = OrderFactory(account=account, provider="brickowl", needs_attention=True)
    OrderFactory()  # another account's
    body = member_client.get(ORDERS).json()
    assert [row["id"] for row in body["results"]] == [new.pk, old.pk]
    assert member_client.get(ORDERS, {"provider": "bricklink"}).json()["results"][0]["id"] == old.pk
    assert [r["id"] for r in member_client.get(ORDERS, {"state": "open"}).json()["results"]] == [
        new.pk
    ]
    attention = member_client.get(ORDERS, {"needs_attention": "true"}).json()["results"]
    assert [row["id"] for row in attention] == [new.pk]
    assert member_client.get(ORDERS, {"state": "lost"}).status_code == 400


def test_an_order_answers_the_contracts_fields(member_client, account):
    item = InventoryItemFactory(account=account, location="B-12")
    line = OrderLineFactory(
        order__account=account,
        item=item,
        quantity=3,
        effect="oversold",
        oversold_quantity=1,
        unit_price="0.1250",
    )
    body = member_client.get(f"{ORDERS}{line.order_id}/").json()
    assert set(body) >= {
        "id",
        "provider",
        "external_id",
        "status",
        "state",
        "buyer_name",
        "placed_at",
        "status_changed_at",
        "needs_attention",
        "lines",
        "packed",
    }
    assert body["placed_at"].endswith("Z")
    [row] = body["lines"]
    assert row == {
        "id": line.pk,
        "lot_id": line.lot_id,
        "part_number": "3001",
        "color_id": 11,
        "condition": "new",
        "quantity": 3,
        "unit_price": "0.1250",
        "item_id": item.pk,
        "effect": "oversold",
        "oversold_quantity": 1,
        "pick_status": "unpicked",
        "location": "B-12",
    }
    assert body["packed"] is False


def test_another_accounts_order_is_404(member_client):
    other = OrderFactory()
    assert member_client.get(f"{ORDERS}{other.pk}/").status_code == 404
    assert member_client.get(f"{ORDERS}987654/").status_code == 404


def test_picking_every_line_packs_the_order_and_moves_no_stock(member_client, account):
    item = InventoryItemFactory(account=account, quantity_available=4)
    first = OrderLineFactory(order__account=account, item=item)
    second = OrderLineFactory(order=first.order, item=item)
    url = f"{ORDERS}{first.order_id}/lines/{{}}/pick/"
    picked = member_client.post(url.format(first.pk), {"pick_status": "picked"})
    assert picked.status_code == 200
    assert picked.json()["pick_status"] == "picked"
    assert member_client.get(f"{ORDERS}{first.order_id}/").json()["packed"] is False
    assert member_client.post(url.format(second.pk), {"pick_status": "issue"}).status_code == 200
    assert member_client.get(f"{ORDERS}{first.order_id}/").json()["packed"] is True
    item.refresh_from_db()
    assert item.quantity_available == 4
    assert member_client.post(url.format(second.pk), {"pick_status": "lost"}).status_code == 400
    other = OrderLineFactory()
    assert (
        member_client.post(
            f"{ORDERS}{other.order_id}/lines/{other.pk}/pick/", {"pick_status": "picked"}
        ).status_code
        == 404
    )


def test_the_pick_list_walks_the_shelves_of_open_orders(member_client, account):
    shelf_b = InventoryItemFactory(account=account, location="B-02")
    shelf_a = InventoryItemFactory(account=account, location="A-07")
    b = OrderLineFactory(order__account=account, item=shelf_b)
    a = OrderLineFactory(order__account=account, item=shelf_a)
    OrderLineFactory(order__account=account, item=shelf_a, pick_status="picked")
    OrderLineFactory(order__account=account, order__state="completed", item=shelf_a)
    OrderLineFactory(item=shelf_a)  # another account's order
    rows = member_client.get(f"{ORDERS}picklist/").json()["results"]
    assert [(row["id"], row["location"]) for row in rows] == [(a.pk, "A-07"), (b.pk, "B-02")]
    assert rows[0]["order_external_id"] == a.order.external_id


def test_asking_for_orders_now_makes_every_enabled_store_due(
    member_client, account, no_publishing, django_capture_on_commit_callbacks
):
    MarketplaceConnectionFactory(account=account, provider="bricklink")
    MarketplaceConnectionFactory(account=account, provider="brickowl", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(f"{ORDERS}sync/")
    assert response.status_code == 202
    assert response.json() == {"queued": 1}
    [feed] = OrderFeed.objects.all()
    assert (feed.provider, feed.status, feed.poll_requested) == ("bricklink", FeedStatus.DUE, True)
    assert no_publishing == [(feed.pk,)]


def test_connecting_a_store_answers_its_push_url(owner_client, member_client, no_publishing):
    response = owner_client.put(
        "/api/v1/marketplaces/brickowl/", {"enabled": True, "credentials": {"api_key": "k" * 20}}
    )
    assert response.status_code == 200, response.content
    url = response.json()["callback_url"]
    secret = MarketplaceConnection.objects.get().callback_secret
    assert url == f"http://testserver/api/v1/hooks/brickowl/{secret}/"
    shown = owner_client.get("/api/v1/marketplaces/brickowl/").json()
    assert shown == {
        "provider": "brickowl",
        "enabled": True,
        "configured": True,
        "callback_url": url,
    }
    assert "k" * 20 not in str(shown)
    assert member_client.get("/api/v1/marketplaces/brickowl/").status_code == 403
    nothing = owner_client.get("/api/v1/marketplaces/bricklink/").json()
    assert (nothing["configured"], nothing["callback_url"]) == (False, None)


def test_a_bricklink_push_reads_the_notifications_now(api_client, account, no_publishing):
    connection = MarketplaceConnectionFactory(
        account=account, provider="bricklink", callback_secret="s" * 43
    )
    response = api_client.post(f"/api/v1/hooks/bricklink/{connection.callback_secret}/")
    assert response.status_code == 204
    feed = OrderFeed.objects.get()
    assert (feed.status, feed.check_notifications, feed.poll_requested) == ("due", True, False)
    assert api_client.post("/api/v1/hooks/bricklink/nope/").status_code == 404
    # A BrickLink secret is no BrickOwl secret.
    assert (
        api_client.get(f"/api/v1/hooks/brickowl/{connection.callback_secret}/").status_code == 404
    )


def test_a_brickowl_notification_fetches_that_order(api_client, account):
    connection = MarketplaceConnectionFactory(
        account=account, provider="brickowl", callback_secret="o" * 43
    )
    url = f"/api/v1/hooks/brickowl/{connection.callback_secret}/"
    assert api_client.get(url, {"order_id": "123456", "store_id": "9"}).status_code == 204
    assert api_client.get(url, {"order_id": "123456"}).status_code == 204
    assert OrderFeed.objects.get().pushed == ["123456"]
    assert api_client.get(url, {"order_id": "x" * 500}).status_code == 204
    assert OrderFeed.objects.get().pushed == ["123456"]  # not an order id: ignored


def test_a_push_while_the_feed_runs_makes_it_run_again_after(api_client, account, no_publishing):
    connection = MarketplaceConnectionFactory(
        account=account, provider="brickowl", callback_secret="r" * 43
    )
    from orders.services import feed_for

    feed = feed_for(connection)
    OrderFeed.objects.filter(pk=feed.pk).update(
        claim_token="00000000-0000-0000-0000-000000000001", status="due"
    )
    api_client.get(f"/api/v1/hooks/brickowl/{connection.callback_secret}/", {"order_id": "5"})
    feed.refresh_from_db()
    assert feed.pushed == ["5"]
    assert feed.requested_at is not None
    assert no_publishing == []  # the running one will see it


def test_the_push_secret_is_never_logged(api_client, account):
    """What the configured handlers write (every process logs through them: core/logs.py
    redacts hook paths, also in gunicorn's access log: config/gunicorn.py)."""
    connection = MarketplaceConnectionFactory(
        account=account, provider="bricklink", callback_secret="z" * 43
    )
    written = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "the console handler of settings.LOGGING"
    # Swapped, not setStream(): that flushes the stream it replaces, which an earlier test's
    # captured output may have closed.
    streams = [handler.stream for handler in handlers]
    for handler in handlers:
        handler.stream = written
    try:
        api_client.post(f"/api/v1/hooks/bricklink/{connection.callback_secret}/")
        api_client.post(f"/api/v1/hooks/bricklink/{'y' * 43}/")  # a 404, logged as such
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.stream = stream
    assert "Not Found: /api/v1/hooks/bricklink/[REDACTED]/" in written.getvalue()
    assert "y" * 43 not in written.getvalue()
    assert "z" * 43 not in written.getvalue()
