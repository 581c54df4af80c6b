"""Settings shared by every mode. Everything deployment-specific comes from the environment.

With ``DATABASE_URL`` unset the stack runs embedded: SQLite under ``var/`` and Kombu's
filesystem broker under ``var/``. With ``DATABASE_URL=postgres://...`` and
``CELERY_BROKER_URL=redis://...`` the same code runs the production-shaped stack.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from .background import *  # noqa: F403 - Celery, outbox policies, catalog, inventory
from .environment import BASE_DIR, VAR_DIR, env
from .marketplaces import *  # noqa: F403 - marketplaces and quotas


def prometheus_multiproc_dir(default: Path) -> str:
    """Where every process of this machine (gunicorn workers, Celery pool processes, beat)
    writes its Prometheus counters, for /metrics to add up (prometheus_client's multiprocess
    mode). It must be in the environment before prometheus_client is first imported, which is
    when it picks its mode: settings load before any app code, and processes started from this
    one inherit the variable. Local to the machine: never a shared volume."""
    return os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default))


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
    "orders",
    "takeover",
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
        # Django's own console handler (DEBUG only) would bypass the redaction filter.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
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
