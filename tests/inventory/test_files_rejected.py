"""Files the import refuses: each is a 4xx in the error envelope, writes nothing and syncs
nothing; a file with bad lots names every bad one by its index."""

import io

import pytest
from django.test import Client

from catalog.models import Color, MissingPart
from core import clock
from inventory.files import base, importer
from tests.factories import token_for
from tests.inventory.file_helpers import (
    IMPORT,
    bricklink_xml,
    bsx,
    csv_file,
    lot,
    upload,
    writes,
)
from tests.inventory.item_helpers import error_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("published")]


@pytest.fixture
def nothing_written(published):
    """The test's requests write nothing and send no sync."""
    yield
    assert writes() == (0, 0, 0)
    assert published == []


# --- bad lots: all or nothing, every one named ------------------------------------------------

BAD_LOTS = [
    ("QTY", lot(qty="abc"), "QTY: 'abc' is not a whole number"),
    ("QTY", lot(qty="-3"), "QTY: -3 is negative"),
    ("QTY", lot(qty="1.5"), "QTY: '1.5' is not a whole number"),
    ("QTY", lot(qty=None), "QTY: missing"),
    ("QTY", lot(qty=2**31), "QTY: Ensure this value is less than or equal to 2147483647."),
    ("QTY", lot(qty="9" * 5000), "QTY: '99999"),
    ("ITEMID", lot(part=None), "ITEMID: missing (the part number)"),
    ("ITEMID", lot(part="  "), "ITEMID: missing (the part number)"),
    ("ITEMID", lot(part="30 01"), "ITEMID: A part number is 1-40 letters"),
    ("COLOR", lot(color="red"), "COLOR: 'red' is not a whole number"),
    ("COLOR", lot(color=None), "COLOR: missing"),
    ("COLOR", lot(color=-1), "COLOR: -1 is negative"),
    ("CONDITION", lot(condition="X"), "CONDITION: unknown condition 'X' (N or U)"),
    ("CONDITION", lot(condition=None), "CONDITION: missing (N or U)"),
    ("PRICE", lot(price="abc"), "PRICE: A valid number is required."),
    ("PRICE", lot(price="-1"), "PRICE: Ensure this value is greater than or equal to 0."),
    ("PRICE", lot(price="0.12345"), "PRICE: Ensure that there are no more than 4 decimal"),
    ("PRICE", lot(price="NaN"), "PRICE: A valid number is required."),
    ("REMARKS", lot(location="x" * 201), "REMARKS: Ensure this field has no more than 200"),
    ("ITEMTYPE", lot(item_type="S"), "ITEMTYPE: only parts (P) can be imported, not 'S'"),
]


@pytest.mark.parametrize(("tag", "bad", "message"), BAD_LOTS, ids=[m for _, _, m in BAD_LOTS])
def test_a_bad_lot_is_named_and_nothing_is_written(
    owner_client, nothing_written, tag, bad, message
):
    content = bricklink_xml(lot("3001"), lot("3002"), lot("3003"), bad, lot("3004"))
    error = error_of(upload(owner_client, content), 400, "validation_error")
    errors = error["details"]["errors"]
    assert [row["index"] for row in errors] == [3]
    assert errors[0]["message"].startswith(message), errors
    assert error["details"]["created"] == 4  # what the valid lots would have done
    assert error["message"].startswith("Nothing was imported")


def test_every_bad_lot_is_named_with_every_problem(owner_client, nothing_written):
    content = bricklink_xml(
        lot(qty="-1"),
        lot("3002"),
        lot(part=None, condition="Q", price="x"),
        lot("3003", qty="many"),
    )
    error = error_of(upload(owner_client, content, mode="add"), 400)
    assert error["details"]["errors"] == [
        {"index": 0, "message": "QTY: -1 is negative (a quantity is a whole number >= 0)"},
        {
            "index": 2,
            "message": "ITEMID: missing (the part number); CONDITION: unknown condition 'Q' "
            "(N or U); PRICE: A valid number is required.",
        },
        {"index": 3, "message": "QTY: 'many' is not a whole number"},
    ]


def test_parts_and_colors_the_catalog_refuses_are_bad_lots(owner_client, nothing_written):
    now = clock.now()
    MissingPart.objects.create(no="3001x", confirmed_at=now)
    Color.objects.create(color_id=11, name="Black", last_fetched=now)
    content = bricklink_xml(lot("3001", 11), lot("3001x", 11), lot("3002", 12), lot("3001x", 99))
    error = error_of(upload(owner_client, content), 400, "validation_error")
    assert error["details"]["errors"] == [
        {"index": 1, "message": "ITEMID: BrickLink has no part 3001x."},
        {"index": 2, "message": "COLOR: 12 is not a BrickLink color."},
        {
            "index": 3,
            "message": "ITEMID: BrickLink has no part 3001x.; COLOR: 99 is not a BrickLink color.",
        },
    ]


def test_a_tag_given_twice_is_a_bad_lot(owner_client, nothing_written):
    content = bricklink_xml(lot()).replace(b"<QTY>5</QTY>", b"<QTY>5</QTY><QTY>6</QTY>")
    error = error_of(upload(owner_client, content), 400)
    assert error["details"]["errors"] == [{"index": 0, "message": "QTY is given twice"}]


def test_bad_lots_of_a_brickstore_file_and_a_csv_are_named_by_their_tags(
    owner_client, nothing_written
):
    error = error_of(upload(owner_client, bsx(lot(), lot(qty=-2))), 400)
    assert error["details"]["errors"][0]["index"] == 1
    assert error["details"]["errors"][0]["message"].startswith("Qty: -2 is negative")
    content = csv_file("3001,11,N,1", "", "3002,11,N", "3003,11,new,x")
    error = error_of(upload(owner_client, content), 400)
    assert error["details"]["errors"] == [
        {
            "index": 1,
            "message": "the row has 3 values, the header 4 columns; quantity_available: missing",
        },
        {"index": 2, "message": "quantity_available: 'x' is not a whole number"},
    ]


# --- files that are not inventory files ------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b'{"items": []}',
        b"just some text\nwith lines\n",
        b"\xff\xfe\x00\x01binary",
        b"<ORDERS><ORDER/></ORDERS>",
        b"<html><body>hi</body></html>",
        b"id;part;qty\n1;3001;5\n",
    ],
)
def test_an_unknown_format_is_400_on_file(owner_client, nothing_written, content):
    error = error_of(upload(owner_client, content), 400, "validation_error")
    assert "file" in error["details"]


@pytest.mark.parametrize(
    "content",
    [
        b"<INVENTORY><ITEM><ITEMID>3001</ITEMID></INVENTORY>",
        b"<INVENTORY><ITEM>",
        b"<INVENTORY></INVENTORY><INVENTORY></INVENTORY>",
        b"<INVENTORY><ITEM><ITEMID>&nbsp;</ITEMID></ITEM></INVENTORY>",
        b"<INVENTORY>\xff\xfe</INVENTORY>",
        b"<",
    ],
)
def test_xml_that_is_not_well_formed_is_400_parse_error(owner_client, nothing_written, content):
    error = error_of(upload(owner_client, content), 400, "parse_error")
    assert "well-formed" in error["message"]


def test_a_csv_that_is_not_utf8_is_400_parse_error(owner_client, nothing_written):
    content = b"part_number,color_id,condition,quantity_available,notes\r\n3001,1,N,1,Caf\xe9\r\n"
    error_of(upload(owner_client, content), 400, "parse_error")


def test_a_csv_header_without_the_required_columns_is_400_on_file(owner_client, nothing_written):
    error = error_of(upload(owner_client, b"part_number,qty\n3001,5\n"), 400, "validation_error")
    assert "color_id, condition, quantity_available" in error["details"]["file"][0]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE INVENTORY [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<INVENTORY><ITEM><ITEMID>3001</ITEMID><COLOR>1</COLOR><CONDITION>N</CONDITION><QTY>1</QTY>
<DESCRIPTION>&lol9;</DESCRIPTION></ITEM></INVENTORY>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE INVENTORY [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<INVENTORY><ITEM><ITEMID>3001</ITEMID><COLOR>1</COLOR><CONDITION>N</CONDITION><QTY>1</QTY>
<DESCRIPTION>&secret;</DESCRIPTION></ITEM></INVENTORY>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE INVENTORY SYSTEM "http://127.0.0.1:9/inventory.dtd">
<INVENTORY><ITEM><ITEMID>3001</ITEMID><COLOR>1</COLOR><CONDITION>N</CONDITION><QTY>1</QTY>
</ITEM></INVENTORY>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE INVENTORY [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<INVENTORY/>
"""


@pytest.mark.parametrize(
    "content",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        EXTERNAL_DTD,
        PARAMETER_ENTITY,
        b"<!DOCTYPE INVENTORY><INVENTORY/>",
        bsx(lot(), doctype="<!DOCTYPE BrickStoreXML [<!ENTITY a 'b'>]>\n"),
        bsx(lot(), doctype='<!DOCTYPE BrickStoreXML SYSTEM "http://127.0.0.1:9/b.dtd">\n'),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "parameter-entity",
        "bricklink-doctype",
        "bsx-internal-subset",
        "bsx-system-id",
    ],
)
def test_dtds_and_entities_are_refused_never_expanded(owner_client, nothing_written, content):
    error = error_of(upload(owner_client, content), 400, "parse_error")
    assert "DTD or entities" in error["message"]
    assert "root:" not in str(error)


@pytest.mark.parametrize(
    "content",
    [
        b"<INVENTORY><ITEM>" + b"<A>" * 20 + b"</A>" * 20 + b"</ITEM></INVENTORY>",
        b"<INVENTORY><ITEM>" + b"<BULK/>" * 600 + b"</ITEM></INVENTORY>",
        b"<BrickStoreXML><GuiState><C>" + b"<X/>" * 10_000 + b"</C></GuiState></BrickStoreXML>",
    ],
    ids=["nested-too-deep", "item-of-600-elements", "brickstore-junk"],
)
def test_xml_that_could_fill_the_memory_is_refused(owner_client, nothing_written, content):
    error_of(upload(owner_client, content), 400, "parse_error")


# --- limits ----------------------------------------------------------------------------------


def test_more_than_50000_lots_is_413_without_reading_them_all(owner_client, nothing_written):
    one = b"<ITEM><ITEMID>3001</ITEMID><COLOR>1</COLOR><CONDITION>N</CONDITION><QTY>1</QTY></ITEM>"
    content = b"<INVENTORY>" + one * 60_000 + b"</INVENTORY>"
    assert len(content) < base.MAX_BYTES
    error = error_of(upload(owner_client, content), 413, "request_too_large")
    assert error["details"] == {"max_lots": 50_000}
    assert "50,000 lots" in error["message"]


class CountingReads(io.BytesIO):
    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def read1(self, size=-1):
        chunk = super().read1(size)
        self.read_bytes += len(chunk)
        return chunk


@pytest.mark.parametrize("fmt", ["xml", "csv"])
def test_the_lot_limit_stops_the_read_at_the_first_lot_past_it(fmt):
    if fmt == "xml":
        content = bricklink_xml(*[lot()] * 60_000)
    else:
        content = csv_file(*["3001,11,N,5"] * 60_000)
    stream = CountingReads(content)
    _, lots = importer.read_lots(stream)
    with pytest.raises(base.FileTooLarge):
        for _ in lots:
            pass
    assert stream.read_bytes < len(content) * 0.9


def test_a_file_of_more_than_20_mb_is_413_before_it_is_read(owner_client, nothing_written):
    content = b"<INVENTORY>" + b" " * (21 * 1024 * 1024) + b"</INVENTORY>"
    error = error_of(upload(owner_client, content), 413, "request_too_large")
    assert error["details"] == {"max_bytes": 20 * 1024 * 1024}


def test_a_file_just_over_20_mb_is_413(owner_client, nothing_written):
    content = b"<INVENTORY>" + b" " * (base.MAX_BYTES - 11 - 12 + 1) + b"</INVENTORY>"
    assert len(content) == base.MAX_BYTES + 1
    error = error_of(upload(owner_client, content), 413, "request_too_large")
    assert error["details"] == {"max_bytes": base.MAX_BYTES}


def test_a_file_of_exactly_20_mb_is_read(owner_client, nothing_written):
    content = b"<INVENTORY>" + b" " * (base.MAX_BYTES - 11 - 12) + b"</INVENTORY>"
    assert len(content) == base.MAX_BYTES
    response = upload(owner_client, content)
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 0, "errors": []}


# --- requests that are not uploads -----------------------------------------------------------


def test_bad_fields_of_the_upload_are_400(owner_client, nothing_written):
    content = bricklink_xml(lot())
    error = error_of(upload(owner_client, content, mode="replace"), 400)
    assert "mode" in error["details"]
    error = error_of(upload(owner_client, content, dry_run="perhaps"), 400)
    assert "dry_run" in error["details"]
    error = error_of(upload(owner_client, b""), 400)
    assert "file" in error["details"]


def test_bodies_that_are_not_uploads(owner, nothing_written):
    caller = Client(HTTP_AUTHORIZATION=f"Token {token_for(owner)}")
    error = error_of(caller.post(IMPORT), 400)  # multipart without a file
    assert "file" in error["details"]
    error = error_of(caller.post(IMPORT, {"file": "x"}, content_type="application/json"), 400)
    assert "file" in error["details"]
    response = caller.post(IMPORT, b"[" * 100_000, content_type="application/json")
    error_of(response, 400, "parse_error")
    response = caller.post(IMPORT, b"x" * (3 * 1024 * 1024), content_type="application/json")
    error_of(response, 413, "request_too_large")
    response = caller.post(IMPORT, "file=x", content_type="application/x-www-form-urlencoded")
    error_of(response, 415, "unsupported_media_type")
