"""The Prometheus series the system exports (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CATALOG_CACHE = Counter("brickops_catalog_cache_total", "Catalog read cache lookups.", ["result"])
LAST_KNOWN_GOOD_SERVED = Counter(
    "brickops_last_known_good_served_total",
    "Catalog reads answered with stored data beside the error of a failed refresh.",
    ["kind"],
)
REFRESH_DURATION = Histogram(
    "brickops_refresh_duration_seconds",
    "Time from claim to finish of one catalog refresh, BrickLink calls included.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
REFRESHES = Counter(
    "brickops_refreshes_total", "Catalog refreshes processed, by outcome.", ["kind", "outcome"]
)
INVENTORY_SYNCS = Counter(
    "brickops_inventory_syncs_total", "Inventory syncs run, by outcome.", ["provider", "outcome"]
)
