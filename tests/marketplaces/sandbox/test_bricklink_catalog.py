"""BrickLink in the sandbox: items, known colors, price guides, colors, categories."""

from __future__ import annotations

import html

import pytest

from tests.marketplaces.sandbox.wire import get, meta


def test_bricklink_item_has_the_real_shape(bl):
    data = get(bl, "/items/PART/3001").json()["data"]
    assert set(data) == {
        "no",
        "name",
        "type",
        "category_id",
        "alternate_no",
        "image_url",
        "thumbnail_url",
        "weight",
        "dim_x",
        "dim_y",
        "dim_z",
        "year_released",
        "description",
        "is_obsolete",
        "language_code",
    }
    assert (data["no"], data["name"], data["type"]) == ("3001", "Brick 2 x 4", "PART")
    assert data["image_url"] == "//img.bricklink.com/ItemImage/PN/11/3001.png"
    assert data["thumbnail_url"] == "//img.bricklink.com/ItemImage/PT/11/3001.t1.png"
    assert data["weight"] == "2.32"
    assert all(len(data[k].split(".")[1]) == 2 for k in ("weight", "dim_x", "dim_y", "dim_z"))
    assert data["description"].startswith("<p")
    assert data["is_obsolete"] is False


def test_bricklink_sets_minifigs_entities_obsolete_and_alternates(bl, sandbox_catalog):
    star_destroyer = get(bl, "/items/SET/10030-1").json()["data"]
    assert star_destroyer["name"] == "Imperial Star Destroyer - UCS"
    assert star_destroyer["image_url"] == "//img.bricklink.com/ItemImage/SN/0/10030-1.png"
    assert get(bl, "/items/MINIFIG/sw0001a").json()["data"]["type"] == "MINIFIG"
    entity_part = sandbox_catalog.part_with_entities()
    name = get(bl, f"/items/PART/{entity_part}").json()["data"]["name"]
    assert name != html.unescape(name)
    obsolete = next(item for item in sandbox_catalog.parts() if item.is_obsolete)
    assert get(bl, f"/items/PART/{obsolete.no}").json()["data"]["is_obsolete"] is True
    printed = get(bl, "/items/PART/3069bpr0099").json()["data"]
    assert printed["name"].endswith("Pattern")
    assert "&amp;" in printed["name"]
    assert get(bl, "/items/PART/15573").json()["data"]["alternate_no"] == "3794b"


@pytest.mark.parametrize("no", ["9999999", "nonexistent-part"])
def test_bricklink_unknown_part_is_meta_404(bl, no):
    response = get(bl, f"/items/PART/{no}")
    assert response.status_code == 200
    assert meta(response)["code"] == 404
    assert meta(response)["message"] == "RESOURCE_NOT_FOUND"
    assert meta(get(bl, "/items/SET/10030"))["code"] == 404  # sets carry -1


def test_bricklink_known_colors_send_quantities_as_strings_for_some_parts(bl, sandbox_catalog):
    as_string = next(p for p in sandbox_catalog.parts() if p.quantity_as_string)
    as_int = next(p for p in sandbox_catalog.parts() if not p.quantity_as_string)
    strings = get(bl, f"/items/PART/{as_string.no}/colors").json()["data"]
    ints = get(bl, f"/items/PART/{as_int.no}/colors").json()["data"]
    assert all(isinstance(row["quantity"], str) for row in strings)
    assert all(isinstance(row["quantity"], int) for row in ints)
    assert [row["color_id"] for row in ints] == list(as_int.color_ids)
    assert 1 <= len(ints) <= 8


@pytest.mark.parametrize("guide_type", ["stock", "sold"])
def test_bricklink_price_guide_shape(bl, guide_type):
    data = get(
        bl, "/items/PART/3001/price", color_id=11, guide_type=guide_type, new_or_used="U"
    ).json()["data"]
    assert data["item"] == {"no": "3001", "type": "PART"}
    assert (data["new_or_used"], data["currency_code"]) == ("U", "USD")
    for key in ("min_price", "max_price", "avg_price", "qty_avg_price"):
        assert len(data[key].split(".")[1]) == 4
    assert isinstance(data["unit_quantity"], int)
    assert isinstance(data["total_quantity"], int)
    assert data["price_detail"]
    expected = (
        {"quantity", "unit_price", "shipping_available"}
        if guide_type == "stock"
        else {"quantity", "unit_price", "seller_country_code", "buyer_country_code", "date_ordered"}
    )
    assert all(set(detail) == expected for detail in data["price_detail"])


def test_bricklink_price_guide_defaults_unknown_color_and_bad_parameters(bl):
    default = get(bl, "/items/PART/3001/price", color_id=11).json()["data"]
    assert (default["new_or_used"], default["currency_code"]) == ("N", "USD")
    assert "shipping_available" in default["price_detail"][0]
    euros = get(bl, "/items/PART/3001/price", color_id=11, currency_code="EUR").json()["data"]
    assert euros["currency_code"] == "EUR"
    unknown_color = get(bl, "/items/PART/3001/price", color_id=999).json()["data"]
    assert unknown_color["avg_price"] == "0.0000"
    assert unknown_color["unit_quantity"] == 0
    assert unknown_color["price_detail"] == []
    for bad in ({"guide_type": "later"}, {"new_or_used": "X"}):
        response = get(bl, "/items/PART/3001/price", color_id=11, **bad)
        assert meta(response)["code"] == 400
        assert meta(response)["message"] == "PARAMETER_MISSING_OR_INVALID"


def test_bricklink_colors_and_categories(bl):
    colors = get(bl, "/colors").json()["data"]
    assert len(colors) >= 60
    by_id = {color["color_id"]: color for color in colors}
    assert by_id[11]["color_name"] == "Black"
    assert by_id[86]["color_name"] == "Light Bluish Gray"
    assert by_id[0]["color_name"] == "(Not Applicable)"
    assert all(len(c["color_code"]) == 6 and "#" not in c["color_code"] for c in colors)
    assert {"color_id", "color_name", "color_code", "color_type"} == set(colors[0])
    categories = get(bl, "/categories").json()["data"]
    assert len(categories) >= 20
    ids = {c["category_id"] for c in categories}
    assert any(c["parent_id"] == 0 for c in categories)
    assert any(c["parent_id"] in ids for c in categories)
