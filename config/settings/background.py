"""Background work: Celery, how each kind of outbox work waits and retries, the catalog's
freshness and the inventory sync."""

from __future__ import annotations

from kombu import Exchange, Queue

from .environment import VAR_DIR, env

# --- Celery ------------------------------------------------------------------------------------
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # A message whose worker died unacknowledged is redelivered after this long.
    # PostgreSQL is the record: the drain reclaims expired leases well before this.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 5,
    "socket_timeout": 10,
    "socket_keepalive": True,
    "retry_on_timeout": True,
    "health_check_interval": 25,
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
EMBEDDED_BROKER = not CELERY_BROKER_URL
if EMBEDDED_BROKER:
    # Kombu's filesystem transport: producers and the worker are separate processes that meet
    # in one folder. Good enough for one machine; production uses Redis.
    # Its folders are made when the app starts (core/apps.py), not here.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # Kombu's default is a second: a worker that holds its prefetched messages then takes
        # about one task a second. A fifth of a second costs a directory listing.
        "polling_interval": 0.2,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing never blocks a web request for long: the outbox row is the record, and the
# drain sends whatever could not be published.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# At-least-once: a task is acknowledged only after it ran, and a task whose worker process
# died is requeued. Every task is therefore idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (
    Queue("urgent", Exchange("urgent", type="direct"), routing_key="urgent"),
    Queue("default", Exchange("default", type="direct"), routing_key="default"),
)
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Background work (outbox/): how each kind waits, retries and gives up ----------------------
# A claimed row's lease is renewed by its worker while the work runs (outbox/leases.py), so
# it can be short: a dead worker's rows come back within a lease plus a sweep.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=30)
# How often beat sweeps: expired leases taken back, lost messages sent again.
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=15)
# A row sent to the workers and still waiting this long after it was due is sent again (its
# message was lost with a worker).
OUTBOX_REDISPATCH_SECONDS = env.int("OUTBOX_REDISPATCH_SECONDS", default=60)
# A wait up to this long is a delayed message, sent on time; a longer one is the sweep's.
OUTBOX_REQUEUE_MAX_DELAY_SECONDS = env.float("OUTBOX_REQUEUE_MAX_DELAY_SECONDS", default=300)


def outbox_policy(prefix: str, *, base: float, cap: float, jitter: float, attempts: int) -> dict:
    """One kind's policy, each value overridable by ``<prefix>_...`` in the environment."""
    return {
        "lease_seconds": env.int(f"{prefix}_LEASE_SECONDS", default=OUTBOX_LEASE_SECONDS),
        "retry_base_seconds": env.float(f"{prefix}_RETRY_BASE_SECONDS", default=base),
        "retry_cap_seconds": env.float(f"{prefix}_RETRY_CAP_SECONDS", default=cap),
        "retry_jitter_seconds": env.float(f"{prefix}_RETRY_JITTER_SECONDS", default=jitter),
        "max_attempts": env.int(f"{prefix}_MAX_ATTEMPTS", default=attempts),
    }


OUTBOX_POLICIES = {
    # Order feeds: 2 s, 4 s, 8 s ... at most 2 minutes (the next poll comes anyway), 5 attempts.
    "order_feed": outbox_policy("ORDERS", base=2.0, cap=120.0, jitter=1.0, attempts=5),
    # Store takeovers: 2 s, 4 s, 8 s ... at most a minute, 5 attempts.
    "store_import": outbox_policy("TAKEOVER", base=2.0, cap=60.0, jitter=1.0, attempts=5),
    # Catalog refreshes: 1 s, 2 s, 4 s ... at most 5 minutes, 5 attempts.
    "refresh": outbox_policy("CATALOG", base=1.0, cap=300.0, jitter=5.0, attempts=5),
    # Inventory syncs: 1 s, 2 s, 4 s ... at most 5 minutes, 6 attempts.
    "inventory_sync": outbox_policy("INVENTORY_SYNC", base=1.0, cap=300.0, jitter=1.0, attempts=6),
}

# --- Catalog freshness and its refresh outbox --------------------------------------------------
CATALOG_FRESH_DAYS = env.int("CATALOG_FRESH_DAYS", default=30)
CATALOG_EXPIRED_DAYS = env.int("CATALOG_EXPIRED_DAYS", default=60)
CATALOG_NOT_FOUND_DAYS = env.int("CATALOG_NOT_FOUND_DAYS", default=7)
CATALOG_CURRENCY = env.str("CATALOG_CURRENCY", default="USD")
CATALOG_DRAIN_INTERVAL_SECONDS = env.int("CATALOG_DRAIN_INTERVAL_SECONDS", default=300)
CATALOG_DRAIN_BATCH_SIZE = env.int("CATALOG_DRAIN_BATCH_SIZE", default=500)
CATALOG_BREAKER_THRESHOLD = env.int("CATALOG_BREAKER_THRESHOLD", default=5)
CATALOG_BREAKER_COOLDOWN_SECONDS = env.float("CATALOG_BREAKER_COOLDOWN_SECONDS", default=60.0)
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=60)
CATALOG_CLEANUP_AFTER_DAYS = env.int("CATALOG_CLEANUP_AFTER_DAYS", default=7)
CATALOG_CLEANUP_BATCH = env.int("CATALOG_CLEANUP_BATCH", default=1000)
CATALOG_WAIT_POLL_SECONDS = 0.05

# --- Inventory sync ----------------------------------------------------------------------------
DISABLE_EXTERNAL_CALLS = env.bool("DISABLE_EXTERNAL_CALLS", default=False)
INVENTORY_BRICKLINK_MAX_IN_FLIGHT = env.int("INVENTORY_BRICKLINK_MAX_IN_FLIGHT", default=4)
# A seat's lease is renewed while its call runs (outbox/leases.py): short, so a dead worker's
# seat is free again in seconds.
INVENTORY_SLOT_LEASE_SECONDS = env.int("INVENTORY_SLOT_LEASE_SECONDS", default=10)
# Syncs can have workers of their own (a queue every worker also listens to by default).
INVENTORY_SYNC_QUEUE = env.str("INVENTORY_SYNC_QUEUE", default="default")
INVENTORY_SWEEP_BATCH_SIZE = env.int("INVENTORY_SWEEP_BATCH_SIZE", default=500)
INVENTORY_BRICKOWL_USED_CONDITION = env.str("INVENTORY_BRICKOWL_USED_CONDITION", default="usedn")
INVENTORY_BRICKOWL_COLOR_CACHE_SECONDS = 86_400
# Uploads (inventory/uploads.py): at least this many syncs of one account and marketplace that
# only need a lot go in batches; a BrickLink array POST holds INVENTORY_BRICKLINK_BATCH_SIZE
# lots, an upload's BrickOwl chunk that many bulk/batch calls of 50.
INVENTORY_UPLOAD_MIN = env.int("INVENTORY_UPLOAD_MIN", default=20)
INVENTORY_BRICKLINK_BATCH_SIZE = env.int("INVENTORY_BRICKLINK_BATCH_SIZE", default=500)
INVENTORY_BRICKOWL_BATCHES_PER_CHUNK = env.int("INVENTORY_BRICKOWL_BATCHES_PER_CHUNK", default=10)

# --- Store takeovers ----------------------------------------------------------------------------
# A running import not sent nor begun for this long lost its message: beat sends it again.
TAKEOVER_RESEND_SECONDS = env.int("TAKEOVER_RESEND_SECONDS", default=300)

# --- Orders --------------------------------------------------------------------------------------
# How often every enabled store is polled for new and changed orders (pushes make it sooner).
ORDERS_POLL_SECONDS = env.int("ORDERS_POLL_SECONDS", default=120)
# An order placed this close to a marketplace's last answer about a lot cannot be told to be
# counted in it or not: the next sync reads the lot again instead of guessing.
ORDERS_CLOCK_MARGIN_SECONDS = env.float("ORDERS_CLOCK_MARGIN_SECONDS", default=10.0)
