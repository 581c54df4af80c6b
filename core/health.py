"""Liveness of what the web process depends on: the database and the broker."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def database_check() -> bool:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the reason is logged
        logger.warning("healthz: database is down: %s", exc.__class__.__name__)
        connections["default"].close_if_unusable_or_obsolete()
        return False
    return True


def broker_check() -> bool:
    from config.celery import app

    timeout = settings.HEALTHZ_TIMEOUT_SECONDS
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=timeout
            )
            channel = conn.default_channel
            # Redis connects lazily: a round trip proves the broker really answers.
            client = getattr(channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the reason is logged
        logger.warning("healthz: broker is down: %s: %s", exc.__class__.__name__, exc)
        return False
    return True
