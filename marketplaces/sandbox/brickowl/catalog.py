"""Catalog endpoints: BOIDs of BrickLink numbers, and the color list."""

from __future__ import annotations

from marketplaces.sandbox.wire import JSON, Response, json_response

from .call import BrickOwlError, Call, bad

_ITEM_TYPES = {"Part": "PART", "Set": "SET", "Minifigure": "MINIFIG"}


def id_lookup(call: Call) -> Response:
    query = call.request.query
    number = query.get("id")
    if not number:
        raise bad("Missing id")
    id_type = query.get("id_type", "bl_item_no")
    if id_type != "bl_item_no":
        raise bad(f"Unsupported id_type {id_type!r} (the sandbox knows bl_item_no)")
    item_type = query.get("type")
    kind = _ITEM_TYPES.get(item_type) if item_type else None
    if item_type and kind is None:
        raise BrickOwlError(404, "No results found")
    items = call.catalog.lookup_bricklink_number(number, kind)
    boids = [item.boid for item in items if item.boid is not None]
    if not boids:
        raise BrickOwlError(404, "No results found")
    return json_response(200, {"boids": boids})


def color_list(call: Call) -> Response:
    catalog = call.catalog

    def build() -> dict[str, dict]:
        entries = {}
        for color in sorted(catalog.brickowl_colors.values(), key=lambda c: int(c.brickowl_id)):
            entries[color.brickowl_id] = {
                "id": color.brickowl_id,
                "name": color.name,
                "hex": color.code,
                "bl_ids": [str(color.color_id)],
                "bl_names": [color.name],
                "ldraw_ids": [str(ldraw) for ldraw in color.ldraw_ids],
                "peeron_names": [color.name.replace(" ", "").replace("-", "")],
            }
        return entries

    return Response(200, catalog.cached_json("bo-colors", build), JSON)
