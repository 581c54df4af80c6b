"""BrickOwl's catalog: BrickOwl ids (BOIDs) of BrickLink numbers, and its colors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import BrickOwlBase
from .parsing import integer, is_small_number, list_or_empty, malformed, mapping


@dataclass(frozen=True)
class BrickOwlColor:
    id: int
    name: str
    bl_ids: tuple[int, ...]


class CatalogCalls(BrickOwlBase):
    def id_lookup(self, bl_item_no: str, item_type: str = "Part") -> list[str]:
        """BrickOwl ids (BOIDs) of a BrickLink item number. Unknown → :class:`NotFound`."""

        return self._get("/catalog/id_lookup", boids_of, id_lookup_params(bl_item_no, item_type))

    def color_list(self) -> list[BrickOwlColor]:
        def parse(data: Any) -> list[BrickOwlColor]:
            # An object keyed by BrickOwl color id; accept a plain list as well.
            if isinstance(data, dict):
                rows = list(data.values())
            elif isinstance(data, list):
                rows = data
            else:
                raise malformed("color list is neither an object nor a list")
            colors = []
            for row in rows:
                row = mapping(row, "color")
                colors.append(
                    BrickOwlColor(
                        id=integer(row.get("id"), "id"),
                        name=str(row.get("name") or ""),
                        bl_ids=tuple(
                            int(value)
                            for value in list_or_empty(row.get("bl_ids"))
                            if is_small_number(value)
                        ),
                    )
                )
            return colors

        return self._get("/catalog/color_list", parse)


def id_lookup_params(bl_item_no: str, item_type: str = "Part") -> dict[str, str]:
    return {"id": bl_item_no, "type": item_type, "id_type": "bl_item_no"}


def boids_of(data: Any) -> list[str]:
    """An ``id_lookup`` answer's BOIDs."""
    boids = mapping(data, "id lookup").get("boids")
    if not isinstance(boids, list):
        raise malformed("boids is not a list")
    return [str(boid) for boid in boids]
