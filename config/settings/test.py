"""The test suite: real PostgreSQL and Redis on localhost unless the environment says otherwise."""

import atexit
import os
import shutil
import tempfile

# `make test` runs the suite in several pytest-xdist workers (gw0, gw1, ...), each a suite of
# its own: its test database (pytest-django adds the suffix), Redis databases and key prefixes,
# derived here so the processes a worker starts (which inherit PYTEST_XDIST_WORKER) agree.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_SLOT = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0
# Two Redis databases a slot, counted down from 15 (the cache's, the broker's; the fault mode's
# nested run, tests/reliability/test_fault_injection.py, shares its slot's under other key
# prefixes); `make run` keeps 0 and 1.
REDIS_DB_TOP = 15 - 2 * _SLOT

# Several suites run at once on one machine: each session counts its metrics in a directory of
# its own, which the processes it starts inherit (tests/harness.py child_env), removed when the
# process that made it exits. Set before .base, whose default is the shared var/prometheus.
if (
    "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    or os.environ.get("BRICKOPS_METRICS_OF", "") != XDIST_WORKER
):
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="brickops-metrics-"
    )
    os.environ["BRICKOPS_METRICS_OF"] = XDIST_WORKER
    _metrics_dir_owner = os.getpid()

    @atexit.register
    def _remove_metrics_dir() -> None:
        if os.getpid() == _metrics_dir_owner:  # not a forked child going away
            shutil.rmtree(_metrics_dir, ignore_errors=True)


from .base import *  # noqa: F403, E402  (after the metrics directory is chosen)
from .base import (  # noqa: E402
    REDIS_BROKER_TRANSPORT_OPTIONS,
    dev_secret,
    env,
    generate_fernet_key,
    generate_secret_key,
)

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="") or dev_secret("secret_key", generate_secret_key)
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="") or dev_secret(
    "field_encryption_key", generate_fernet_key
)

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/brickops"),
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_brickops")}
EMBEDDED_DATABASE = False

REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:6379/{REDIS_DB_TOP}")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=f"brickops-test{XDIST_WORKER}"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CACHES["catalog"] = {
    **CACHES["default"],
    "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + ":catalog",
}

# The broker on a Redis database of its own: clearing the cache between tests (a FLUSHDB)
# must never drop queued or unacknowledged messages.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"redis://127.0.0.1:6379/{REDIS_DB_TOP - 1}"
)
EMBEDDED_BROKER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **REDIS_BROKER_TRANSPORT_OPTIONS,
    # The suite's messages never mix with a `make run` stack on the same Redis.
    "global_keyprefix": env.str("CELERY_KEY_PREFIX", default=f"brickops-test{XDIST_WORKER}:"),
}

# Fault mode (tests/faultmode.py): the sandbox fails SANDBOX_FAULT_RATE of all calls, hangs
# included. Workers and the test process give up on a hung call after 2 s instead of 10 and
# retry a refresh without the 5 s jitter, so the suite waits seconds for what it recovers from.
if env.float("SANDBOX_FAULT_RATE", default=0):
    # Defaults only: a test that gives its workers its own values keeps them.
    MARKETPLACE_READ_TIMEOUT = env.float("MARKETPLACE_READ_TIMEOUT", default=2.0)
    MARKETPLACE_DEADLINE = env.float("MARKETPLACE_DEADLINE", default=4.0)
    OUTBOX_POLICIES["refresh"]["retry_jitter_seconds"] = env.float(  # noqa: F405
        "CATALOG_RETRY_JITTER_SECONDS", default=0.5
    )

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# BrickLink's pace (1 call a second) would make the suite crawl; tests of the limiter itself
# install their own limits, and workers started with TEST_DEFAULT_RATE_LIMITS=1 keep the real
# ones (the burst tests: tests/inventory/test_burst.py).
_FAST = [
    {"kind": "fixed_window", "rate": 100_000, "period": DAY},  # noqa: F405
    {"kind": "token_bucket", "rate": 1000, "period": 1, "capacity": 1000},
]
if not env.bool("TEST_DEFAULT_RATE_LIMITS", default=False):
    RATE_LIMITS = {
        **RATE_LIMITS,  # noqa: F405
        "bricklink:global": {"rules": _FAST},
        "bricklink:account": {"rules": _FAST},
        "bricklink:orders": {"rules": _FAST},
        "brickowl:account": {"rules": _FAST},
        "brickowl:orders": {"rules": _FAST},
        "brickowl:platform": {"rules": _FAST},
        "brickowl:batch": {"rules": _FAST},
    }
