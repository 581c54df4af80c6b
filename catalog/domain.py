"""What the catalog is about, with no database and no network: a resource to refresh, what a
refresh of it costs, how its cached envelope is named, and facts read off a part number."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Kind, resource_key

# The names of the circuit breaker and the rate limits catalog refreshes go through.
BREAKER = "bricklink"
GLOBAL_LIMIT = "bricklink:global"
BACKGROUND_LIMIT = "bricklink:background"
# BrickLink calls one refresh makes: a price guide is four (stock/sold x new/used).
CALLS = {Kind.PART: 1, Kind.PART_COLORS: 1, Kind.PRICE_GUIDE: 4}

SET_NUMBER = re.compile(r"^\d+-\d+$")
# BrickLink numbers printed parts with pb/pr/px + digits (3001pr0001, 973pb0001) and names
# them "... Pattern".
PRINTED_NUMBER = re.compile(r"(pb|pr|px)\d", re.IGNORECASE)
PRINTED_NAME = re.compile(r"\bpattern\b", re.IGNORECASE)


@dataclass(frozen=True)
class Resource:
    """One thing a refresh fetches: a part, its colors, or its price guide in one color."""

    kind: str
    no: str
    color_id: int | None = None

    @property
    def key(self) -> str:
        return resource_key(self.kind, self.no, self.color_id)


def read_cache_key(resource: Resource) -> str:
    """Where a resource's fresh envelope is cached."""
    return f"catalog:envelope:{resource.key}"


def item_type_of(no: str) -> str:
    """Sets carry a ``-N`` suffix (10030-1); everything else is asked for as a PART."""
    return "SET" if SET_NUMBER.match(no) else "PART"


def is_printed(no: str, name: str) -> bool:
    return bool(PRINTED_NUMBER.search(no) or PRINTED_NAME.search(name))
