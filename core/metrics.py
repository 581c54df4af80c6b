"""The Prometheus series processes count as they work (served, added up, at /metrics).

Every process (gunicorn workers, Celery pool processes, beat, the test runner) writes these
into its own files under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode;
the settings set the variable before this module is first imported, which is when
prometheus_client picks its mode). ``core.exporter`` adds the files up and reads the gauges
that live in the database at scrape time.

Labels only ever take values from short, fixed sets: a kind, an outcome, a provider, a limit
name, an endpoint *template*. Never an id, a URL, a query string or anything a user typed.
"""

from __future__ import annotations

from django.db import transaction
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
BACKOFFS = Counter(
    "brickops_backoffs_total",
    "Work put back to run later: a failed attempt to retry (reason=retry), or a refresh or "
    "sync that had to wait for a quota, the circuit breaker or a marketplace 429 "
    "(reason=deferred).",
    ["source", "reason"],
)
RATE_LIMIT_DENIALS = Counter(
    "brickops_ratelimit_denials_total",
    "Takes a rate limit refused (the limit that said no).",
    ["limit"],
)
MARKETPLACE_REQUESTS = Counter(
    "brickops_marketplace_requests_total",
    "Calls to BrickLink and BrickOwl, by endpoint template and outcome (ok or the error code).",
    ["provider", "endpoint", "outcome"],
)
MARKETPLACE_DURATION = Histogram(
    "brickops_marketplace_request_duration_seconds",
    "Duration of calls to BrickLink and BrickOwl, whatever their outcome.",
    ["provider", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)

BACKOFF_SOURCES = ("refresh", "inventory_sync")
BACKOFF_REASONS = ("retry", "deferred")


def record_backoff(*, source: str, reason: str) -> None:
    """Count a put-back once the transaction that wrote it commits (at once outside one)."""
    counter = BACKOFFS.labels(source=source, reason=reason)
    transaction.on_commit(counter.inc)


def endpoint_label(method: str, template: str) -> str:
    """``GET /items/{type}/{no}/price``: the method and the path *template*. Anything after a
    ``?`` is dropped, so a query string (BrickOwl's key travels in one) can never become a
    label even if a caller passed a full path by mistake."""
    return f"{method.upper()} {template.split('?', 1)[0]}"


def record_marketplace_call(
    *, provider: str, method: str, template: str, outcome: str, seconds: float
) -> None:
    endpoint = endpoint_label(method, template)
    MARKETPLACE_REQUESTS.labels(provider=provider, endpoint=endpoint, outcome=outcome).inc()
    MARKETPLACE_DURATION.labels(provider=provider, endpoint=endpoint).observe(seconds)
