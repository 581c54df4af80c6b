"""Catalog endpoints: items, the colors an item comes in, colors and categories.

Answers are serialized once per seed (:func:`~.envelope.cached_ok`): the catalog never changes.
"""

from __future__ import annotations

from marketplaces.sandbox.catalog import ITEM_TYPES, Item
from marketplaces.sandbox.wire import Response

from .call import Call
from .envelope import cached_ok, not_found, ok


def item_or_404(call: Call) -> Item:
    item_type, no = call.params[0].upper(), call.params[1]
    item = call.catalog.item(item_type, no) if item_type in ITEM_TYPES else None
    if item is None:
        raise not_found(f"The item {item_type} {no} does not exist")
    return item


def get_item(call: Call) -> Response:
    item = item_or_404(call)
    return cached_ok(call.catalog, ("bl-item", item.type, item.no), item.bricklink_payload)


def get_item_colors(call: Call) -> Response:
    item = item_or_404(call)
    return cached_ok(call.catalog, ("bl-colors", item.type, item.no), item.bricklink_colors_payload)


def get_colors(call: Call) -> Response:
    colors = call.catalog.colors
    return cached_ok(
        call.catalog, "bl-colors", lambda: [c.bricklink_payload() for c in colors.values()]
    )


def get_color(call: Call) -> Response:
    color = call.catalog.colors.get(int(call.params[0])) if call.params[0].isdigit() else None
    if color is None:
        raise not_found(f"The color {call.params[0]} does not exist")
    return ok(color.bricklink_payload())


def get_categories(call: Call) -> Response:
    categories = call.catalog.categories
    return cached_ok(
        call.catalog,
        "bl-categories",
        lambda: [c.bricklink_payload() for c in categories.values()],
    )


def get_category(call: Call) -> Response:
    key = call.params[0]
    category = call.catalog.categories.get(int(key)) if key.isdigit() else None
    if category is None:
        raise not_found(f"The category {key} does not exist")
    return ok(category.bricklink_payload())
