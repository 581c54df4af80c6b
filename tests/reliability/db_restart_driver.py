"""The seller's and beat's side of the database-restart test, as a child process on our own
PostgreSQL: enqueue ``count`` refreshes and make ``changes`` inventory changes, then drain and
sweep once a second (as beat does) through the database going away and coming back, until every
row has ended. Then check each stored result against the sandbox's catalog and stores, and
print one JSON line with what was seen.

    python -m tests.reliability.db_restart_driver COUNT CHANGES PARTS SANDBOX_PORT TIMEOUT
"""

from __future__ import annotations

import html
import json
import random
import sys
import time
from collections import Counter


def main(count: int, changes: int, parts: int, port: int, timeout: float) -> dict:
    import django

    django.setup()
    from django.db import DatabaseError, connection
    from django.db.models import Count, Max, Min

    from catalog.models import Kind, Part, PartColor, PriceGuide, Priority, RefreshJob
    from catalog.services import refresh_drain, refresh_enqueue_many
    from inventory.models import SyncState
    from inventory.work import sync_sweep
    from marketplaces.sandbox.catalog import build_catalog
    from tests.factories import AccountFactory, MembershipFactory
    from tests.harness import SandboxProcess
    from tests.inventory.scenario import assert_stores_match_items, connect, random_changes
    from tests.reliability.chaos import outbox_settled, resources, syncs_settled

    catalog = build_catalog(1, parts)
    found = resources(catalog, count)
    refresh_enqueue_many(resources=found, priority=Priority.NORMAL)
    account = AccountFactory()
    connect(account)
    actor = MembershipFactory(account=account, role="owner").user
    sys.stdout.write("enqueued\n")
    sys.stdout.flush()

    # The seller keeps editing for the first ten ticks, so syncs run while the database goes.
    rng, batches = random.Random(11), 10
    database_errors = 0
    started = time.monotonic()
    while True:
        try:
            if batches:
                batches -= 1
                batch = changes // 10
                random_changes(rng, account, actor, count=batch, max_items=max(1, batch // 2))
            elif outbox_settled() and syncs_settled(account):
                break
            refresh_drain()
            sync_sweep()
        except DatabaseError:
            database_errors += 1  # the database is away: beat's next tick tries again
            connection.close()
        if time.monotonic() - started > timeout:
            break
        time.sleep(1)

    by_no = {item.no: item for item in catalog.parts()}
    wanted = {kind: [r for r in found if r.kind == kind] for kind in Kind}
    stored_parts = dict(Part.objects.values_list("no", "name"))
    parts_wrong = [  # the catalog writes names as BrickLink does, with HTML entities
        r.no
        for r in wanted[Kind.PART]
        if stored_parts.get(r.no) != html.unescape(by_no[r.no].name)[:500]
    ]
    colors: dict[str, set] = {}
    for no, color_id, quantity in PartColor.objects.values_list(
        "color_list_id", "color_id", "quantity"
    ):
        colors.setdefault(no, set()).add((color_id, quantity))
    colors_wrong = [
        r.no for r in wanted[Kind.PART_COLORS] if colors.get(r.no) != set(by_no[r.no].colors)
    ]
    guides = {
        (row["no"], row["color_id"]): row
        for row in PriceGuide.objects.values("no", "color_id").annotate(
            rows=Count("id"), first=Min("last_fetched"), last=Max("last_fetched")
        )
    }
    # All four rows of a guide, written by one upsert (one fetched_at), or none.
    guides_wrong = [
        f"{r.no}/{r.color_id}"
        for r in wanted[Kind.PRICE_GUIDE]
        if (g := guides.get((r.no, r.color_id))) is None
        or g["rows"] != 4
        or g["first"] != g["last"]
    ]
    states = SyncState.objects.filter(item__account=account)
    sandbox = SandboxProcess()
    sandbox.port = port  # the test's running sandbox
    try:
        assert_stores_match_items(sandbox, account)
        stores_mismatch = None
    except AssertionError as exc:
        stores_mismatch = str(exc)[:2000] or repr(exc)
    return {
        "jobs": len(found),
        "changes": changes,
        "syncs": dict(Counter(states.values_list("status", flat=True))),
        "stores_mismatch": stores_mismatch,
        "outbox": dict(Counter(RefreshJob.objects.values_list("status", flat=True))),
        "failed_errors": dict(
            Counter(
                str((error or {}).get("message"))[:80]
                for error in RefreshJob.objects.filter(status="failed").values_list(
                    "last_error", flat=True
                )
            )
        ),
        "drain_database_errors": database_errors,
        "seconds": round(time.monotonic() - started, 1),
        "parts_wrong": parts_wrong,
        "colors_wrong": colors_wrong,
        "price_guides_wrong": guides_wrong,
    }


if __name__ == "__main__":
    count, changes, parts, port = (int(arg) for arg in sys.argv[1:5])
    sys.stdout.write(json.dumps(main(count, changes, parts, port, float(sys.argv[5]))) + "\n")
