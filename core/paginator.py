"""A paginator for admin lists of a million rows: no exact COUNT(*) of the whole table."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows an exact count is cheap and worth having.
EXACT_BELOW = 10_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered list on PostgreSQL is counted from the planner's statistics
    (``pg_class.reltuples``, kept by autovacuum) instead of a full scan; a filtered one (which
    the admin's filters narrow through indexes) is counted exactly."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where and not query.distinct:
            estimate = row_estimate(self.object_list)
            if estimate is not None and estimate >= EXACT_BELOW:
                return estimate
        return super().count


def row_estimate(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] > 0 else None
