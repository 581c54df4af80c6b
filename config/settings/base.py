"""Settings shared by every mode. Everything deployment-specific comes from the environment.

With ``DATABASE_URL`` unset the stack runs embedded: SQLite under ``var/`` and Kombu's
filesystem broker under ``var/``. With ``DATABASE_URL=postgres://...`` and
``CELERY_BROKER_URL=redis://...`` the same code runs the production-shaped stack.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# The embedded stack keeps its database, broker files and dev secrets here.
VAR_DIR = Path(env.str("BRICKOPS_VAR_DIR", default=str(BASE_DIR / "var")))


def prometheus_multiproc_dir(default: Path) -> str:
    """Where every process of this machine (gunicorn workers, Celery pool processes, beat)
    writes its Prometheus counters, for /metrics to add up (prometheus_client's multiprocess
    mode). It must be in the environment before prometheus_client is first imported, which is
    when it picks its mode: settings load before any app code, and processes started from this
    one inherit the variable. Local to the machine: never a shared volume."""
    path = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default))
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


PROMETHEUS_MULTIPROC_DIR = prometheus_multiproc_dir(VAR_DIR / "prometheus")
# /metrics answers anyone unless restricted: to these addresses or networks (the scraper's
# REMOTE_ADDR, e.g. "10.0.0.0/8,127.0.0.1") and/or to requests carrying this bearer token.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")


def dev_secret(name: str, generate) -> str:
    """A per-checkout secret for local and test modes, created on first use under ``var/``.

    Never used by production settings, which refuse to start without real secrets.
    """
    path = VAR_DIR / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


def generate_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def generate_secret_key() -> str:
    return secrets.token_urlsafe(64)


DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = False  # config/settings/production.py says True
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "core.admin_site.BrickopsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_guid",
    "core",
    "accounts",
    "marketplaces",
    "ratelimit",
    "outbox",
    "catalog",
    "inventory",
]

MIDDLEWARE = [
    # First: every later middleware's log lines carry the request id, and every response
    # (errors included) echoes it.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # Web, worker and beat are separate processes sharing one file: WAL lets readers
            # run beside the writer; IMMEDIATE takes the write lock at BEGIN, so a transaction
            # never fails half-way on lock upgrade; the busy timeout waits instead of raising
            # "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=30000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"].endswith("sqlite3")

# --- Cache (throttling, short-lived read caches) -----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="brickops"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Shared by every process of the embedded stack (throttle counters must be).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Serialized catalog envelopes of fresh data, kept a minute: Redis when there is one, else
# each process's memory (the embedded stack).
CACHES["catalog"] = (
    {**CACHES["default"], "KEY_PREFIX": CACHES["default"].get("KEY_PREFIX", "") + ":catalog"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "catalog"}
)

# --- Auth --------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Served by WhiteNoise from the apps' folders; production collects them into STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

# 2.5 MB is Django's default; oversized API bodies are answered 413 in the envelope.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "auth": env.str("API_THROTTLE_AUTH", default="20/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_MAX_PAGE_SIZE = 500

SPECTACULAR_SETTINGS = {
    "TITLE": "brickops API",
    "DESCRIPTION": (
        "Catalog freshness and marketplace inventory sync for BrickLink and BrickOwl sellers. "
        'Every error is `{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CatalogStatusEnum": ["fresh", "stale", "expired", "refreshing", "missing"],
        "FreshnessEnum": ["fresh", "stale", "expired"],
        "QueuedStatusEnum": ["pending", "inflight"],
    },
    # Every operation documents its error answers, in the envelope (core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_errors",
    ],
}

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
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
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

# --- Marketplaces ------------------------------------------------------------------------------
BRICKLINK_API_URL = env.str("BRICKLINK_API_URL", default="https://api.bricklink.com/api/store/v1")
BRICKLINK_CONSUMER_KEY = env.str("BRICKLINK_CONSUMER_KEY", default="")
BRICKLINK_CONSUMER_SECRET = env.str("BRICKLINK_CONSUMER_SECRET", default="")
BRICKLINK_TOKEN_VALUE = env.str("BRICKLINK_TOKEN_VALUE", default="")
BRICKLINK_TOKEN_SECRET = env.str("BRICKLINK_TOKEN_SECRET", default="")
BRICKLINK_DAILY_QUOTA = env.int("BRICKLINK_DAILY_QUOTA", default=5000)
BRICKOWL_API_URL = env.str("BRICKOWL_API_URL", default="https://api.brickowl.com/v1")
BRICKOWL_API_KEY = env.str("BRICKOWL_API_KEY", default="")

# --- Quotas (ratelimit) ------------------------------------------------------------------------
# Every limit is a list of rules that must all grant. Periods are seconds; fixed windows are
# aligned to 00:00 UTC. See ratelimit/rules.py for the semantics.
DAY = 86_400
BRICKLINK_BACKGROUND_SHARE = env.float("BRICKLINK_BACKGROUND_SHARE", default=0.6)
BRICKLINK_CALLS_PER_SECOND = env.float("BRICKLINK_CALLS_PER_SECOND", default=1.0)
BRICKLINK_BURST = env.int("BRICKLINK_BURST", default=4)
BRICKOWL_CALLS_PER_MINUTE = env.int("BRICKOWL_CALLS_PER_MINUTE", default=600)
# Background work takes a whole step's tokens before its first call; when there is no room it
# reserves them (ratelimit/budget.py) and waits its turn. How far ahead an account's steps may
# reserve: an hour of BrickLink's pace, ten minutes of BrickOwl's. A daily window is never
# reserved into: a spent day waits for the next (max_reserved 0).
BRICKLINK_MAX_RESERVED_CALLS = env.int("BRICKLINK_MAX_RESERVED_CALLS", default=3600)
BRICKOWL_MAX_RESERVED_CALLS = env.int("BRICKOWL_MAX_RESERVED_CALLS", default=6000)


def bricklink_rules(*, reservable: bool) -> list[dict]:
    """BrickLink's quota for one account: the day, and a steady pace with small bursts."""
    pace = {
        "kind": "token_bucket",
        "rate": BRICKLINK_CALLS_PER_SECOND,
        "period": 1,
        "capacity": BRICKLINK_BURST,
    }
    day = {"kind": "fixed_window", "rate": BRICKLINK_DAILY_QUOTA, "period": DAY}
    if reservable:
        day["max_reserved"] = 0
        pace["max_reserved"] = BRICKLINK_MAX_RESERVED_CALLS
    return [day, pace]


def brickowl_rules() -> list[dict]:
    """Never more than the per-minute limit in any rolling minute (a bucket of 10, refilled
    at the rate less 10)."""
    return [
        {
            "kind": "token_bucket",
            "rate": max(1, BRICKOWL_CALLS_PER_MINUTE - 10),
            "period": 60,
            "capacity": 10,
            "max_reserved": BRICKOWL_MAX_RESERVED_CALLS,
        }
    ]


RATE_LIMITS = {
    "bricklink:global": {
        "description": "The platform's BrickLink account (catalog calls): the daily quota, "
        "and a steady pace with bursts of at most BRICKLINK_BURST.",
        "rules": bricklink_rules(reservable=False),
    },
    "bricklink:background": {
        "description": "The share of the platform's day background refreshes may use, "
        "leaving the rest for what users ask for.",
        "rules": [
            {
                "kind": "fixed_window",
                "rate": max(1, int(BRICKLINK_DAILY_QUOTA * BRICKLINK_BACKGROUND_SHARE)),
                "period": DAY,
            }
        ],
    },
    "bricklink:account": {
        "description": "A seller's own BrickLink account (inventory sync), keyed by account.",
        "rules": bricklink_rules(reservable=True),
    },
    "brickowl:account": {
        "description": "A seller's BrickOwl key, keyed by account.",
        "rules": brickowl_rules(),
    },
    "brickowl:platform": {
        "description": "The platform's BrickOwl key (catalog look-ups: BOIDs, colors).",
        "rules": brickowl_rules(),
    },
}

# Every outbound call: connect and read timeouts, a wall-clock deadline, a response size cap.
MARKETPLACE_CONNECT_TIMEOUT = env.float("MARKETPLACE_CONNECT_TIMEOUT", default=3.05)
MARKETPLACE_READ_TIMEOUT = env.float("MARKETPLACE_READ_TIMEOUT", default=10.0)
MARKETPLACE_DEADLINE = env.float("MARKETPLACE_DEADLINE", default=30.0)
MARKETPLACE_MAX_RESPONSE_BYTES = env.int("MARKETPLACE_MAX_RESPONSE_BYTES", default=16 * 1024 * 1024)

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

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "text" for people at a terminal; "json" for one JSON object a line (log collectors).
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # The request id of the request or Celery task this line belongs to (django-guid).
        "correlation_id": {"()": "django_guid.log_filters.CorrelationId"},
        # Defence in depth: no key, token, signature or secret setting in any line.
        "redact_secrets": {"()": "core.logs.RedactSecretsFilter"},
    },
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(correlation_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["correlation_id", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # urllib3 logs full URLs at DEBUG, and BrickOwl's key travels in the query string.
        "urllib3": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        # A line per request and per task saying which id it picked: the id is on every line.
        "django_guid": {"level": "WARNING"},
    },
}

# --- Request ids (django-guid) -----------------------------------------------------------------
# A request's id comes from its X-Request-ID header when that is a valid UUID, else is
# generated; the response echoes it. Tasks published while handling the request (after
# commit, too: the id lives in a context variable of the request's thread) carry it in a
# message header, and the worker sets it for the task's lines and for the tasks it publishes
# in turn. A task published without one (beat) gets an id of its own.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
    "INTEGRATIONS": [CeleryIntegration()],
}

# How long the health check waits for the database and the broker.
HEALTHZ_TIMEOUT_SECONDS = env.float("HEALTHZ_TIMEOUT_SECONDS", default=2.0)
