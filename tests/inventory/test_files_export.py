"""GET /api/v1/inventory/export/: each format streamed, every live item of the caller's account
and nothing else, and a round trip through an import into a new account."""

from decimal import Decimal
from xml.etree import ElementTree

import pytest

from core import clock
from inventory import services
from inventory.models import InventoryItem
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.inventory.file_helpers import EXPORT, LOT_FIELDS, items_of, upload
from tests.inventory.item_helpers import error_of, make_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]

FORMATS = {
    "bricklink_xml": ("application/xml; charset=utf-8", "xml"),
    "bsx": ("application/xml; charset=utf-8", "bsx"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}


def export(client, fmt=None) -> bytes:
    response = client.get(EXPORT, {"format": fmt} if fmt else {})
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


@pytest.fixture
def stock(account, owner, fake_clock):
    """Items with everything a file has to carry, and some it must leave out."""
    items = [
        make_item(
            account,
            owner,
            part_number="3001",
            color_id=11,
            name="Brick 2 x 4",
            quantity_available=5,
            price=Decimal("0.1250"),
            notes="Red & <\"new\">, 'quoted'\n2nd line\r\nand a tab\t",
            location="Box 1 / shelf B",
        ),
        make_item(account, owner, part_number="3001", color_id=11, condition="used"),
        make_item(
            account,
            owner,
            part_number="973pb1234c01",
            color_id=0,
            quantity_available=1234567,
            price=Decimal("12345678.9999"),
            notes='=HYPERLINK("http://x")',
            location="'quoted",
        ),
        make_item(
            account,
            owner,
            part_number="3004",
            color_id=1,
            quantity_available=2,
            quantity_reserved=3,
            notes="ünïcødé ✓ 🧱",
            location="-1",
        ),
    ]
    gone = make_item(account, owner, part_number="archived1", color_id=1)
    services.item_archive(item=gone, actor=owner)
    make_item(AccountFactory(), None, part_number="theirs1", color_id=1)  # another account's
    return items


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_streams_a_file_of_every_live_item(owner_client, stock, fmt):
    response = owner_client.get(EXPORT, {"format": fmt})
    assert response.status_code == 200
    assert response.streaming
    content_type, extension = FORMATS[fmt]
    assert response["Content-Type"] == content_type
    day = clock.now().date().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="inventory-{day}.{extension}"'
    )
    body = b"".join(response.streaming_content).decode()
    for item in stock:
        assert item.part_number in body
    assert "archived1" not in body
    assert "theirs1" not in body


def test_the_default_format_is_bricklink_xml(owner_client, stock):
    body = export(owner_client)
    assert body.startswith(b"<INVENTORY>")
    root = ElementTree.fromstring(body)
    first = root.find("ITEM")
    assert {child.tag: child.text for child in first} == {
        "ITEMTYPE": "P",
        "ITEMID": "3001",
        "COLOR": "11",
        "CONDITION": "N",
        "QTY": "5",
        "PRICE": "0.1250",
        "DESCRIPTION": stock[0].notes,
        "REMARKS": "Box 1 / shelf B",
    }


def test_a_brickstore_export_is_a_brickstore_file(owner_client, stock):
    root = ElementTree.fromstring(export(owner_client, "bsx"))
    assert root.tag == "BrickStoreXML"
    items = root.find("Inventory").findall("Item")
    assert [item.findtext("ItemID") for item in items] == ["3001", "3001", "973pb1234c01", "3004"]
    assert items[0].findtext("ItemName") == "Brick 2 x 4"
    assert items[1].findtext("Condition") == "U"


def test_a_csv_export_cannot_run_a_formula_in_a_spreadsheet(owner_client, stock):
    lines = export(owner_client, "csv").decode().splitlines()
    assert lines[0] == "part_number,color_id,name,condition,quantity_available,price,location,notes"
    assert "'=HYPERLINK" in lines[-2]
    assert ",'-1," in lines[-1]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("mode", ["add", "merge"])
def test_round_trip_export_then_import_into_a_new_account(
    owner_client, client_for, stock, fmt, mode
):
    content = export(owner_client, fmt)
    newcomer = AccountFactory()
    owner = MembershipFactory(account=newcomer, role="owner").user
    response = upload(client_for(owner), content, name=f"x.{FORMATS[fmt][1]}", mode=mode)
    assert response.json() == {"created": 4, "updated": 0, "unchanged": 0, "errors": []}
    expected = [
        tuple(getattr(item, field) for field in LOT_FIELDS)
        for item in InventoryItem.objects.filter(pk__in=[item.pk for item in stock]).order_by("id")
    ]
    assert items_of(newcomer) == expected
    if fmt != "bricklink_xml":  # BrickLink's format has no name
        assert items_of(newcomer, "name")[0] == ("Brick 2 x 4",)
    # Only what is for sale travels: reserved and sold stock stay behind.
    assert set(items_of(newcomer, "quantity_reserved", "quantity_sold")) == {(0, 0)}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_reimporting_an_export_in_merge_mode_doubles_the_stock(owner_client, account, stock, fmt):
    before = items_of(account, "quantity_available")
    response = upload(owner_client, export(owner_client, fmt), mode="merge", dry_run="true")
    assert response.json() == {"created": 0, "updated": 3, "unchanged": 1, "errors": []}
    assert items_of(account, "quantity_available") == before


def test_an_export_reads_the_items_in_batches(owner_client, account, django_assert_max_num_queries):
    now = clock.now()
    InventoryItem.objects.bulk_create(
        InventoryItem(
            account=account,
            part_number=f"p{n}",
            color_id=n,
            condition="new",
            quantity_available=n,
            created_at=now,
            updated_at=now,
        )
        for n in range(2500)
    )
    with django_assert_max_num_queries(10):
        lines = export(owner_client, "csv").decode().splitlines()
    assert len(lines) == 2501
    assert lines[1].startswith("p0,0,")
    assert lines[-1].startswith("p2499,2499,")


def test_an_empty_account_exports_an_empty_file(owner_client):
    assert export(owner_client) == b"<INVENTORY>\n</INVENTORY>\n"
    assert export(owner_client, "csv").decode().count("\n") == 1


def test_an_unknown_format_is_400(owner_client):
    error = error_of(owner_client.get(EXPORT, {"format": "xlsx"}), 400, "validation_error")
    assert "format" in error["details"]


def test_export_is_for_owners_only(member_client, client_for, stock):
    error_of(member_client.get(EXPORT), 403, "permission_denied")
    assert client_for(UserFactory()).get(EXPORT).status_code == 403


def test_export_needs_authentication(api_client):
    error_of(api_client.get(EXPORT), 401, "not_authenticated")


def test_another_accounts_owner_exports_only_their_own(client_for, stock):
    other = AccountFactory()
    owner = MembershipFactory(account=other, role="owner").user
    make_item(other, owner, part_number="7777", color_id=1)
    body = export(client_for(owner)).decode()
    assert "7777" in body
    assert all(item.part_number not in body for item in stock)


def test_the_schema_documents_the_file_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = schema["paths"]["/api/v1/inventory/import/"]["post"]
    assert set(post["requestBody"]["content"]) == {"multipart/form-data"}
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportReport"
    }
    assert {"400", "403", "413"} <= set(post["responses"])
    report = schema["components"]["schemas"]["ImportReport"]
    assert set(report["properties"]) == {"created", "updated", "unchanged", "errors"}
    request = schema["components"]["schemas"]["ImportRequestRequest"]["properties"]
    assert (request["file"]["type"], request["file"]["format"]) == ("string", "binary")
    get = schema["paths"]["/api/v1/inventory/export/"]["get"]
    assert set(get["responses"]["200"]["content"]) == {"application/xml", "text/csv"}
    (parameter,) = get["parameters"]
    assert parameter["schema"]["enum"] == ["bricklink_xml", "bsx", "csv"]
