"""Reaching the real PostgreSQL and Redis the suite runs against, or saying clearly why not."""

from __future__ import annotations

import psycopg
import redis
from django.conf import settings

START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
    ),
}


def postgres_conninfo(dbname: str | None = None) -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host=db.get("HOST") or "127.0.0.1",
        port=str(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname=dbname or "postgres",
        connect_timeout="3",
    )


def unreachable_services() -> list[str]:
    """What the suite needs and cannot reach, each with how to start it."""
    problems = []
    db = settings.DATABASES["default"]
    try:
        psycopg.connect(postgres_conninfo()).close()
    except psycopg.Error as exc:
        problems.append(
            f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is not reachable ({exc}). "
            f"Start it with: {START_HINTS['PostgreSQL']}  (or set DATABASE_URL)"
        )
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        problems.append(
            f"Redis at {settings.REDIS_URL} is not reachable ({exc}). "
            f"Start it with: {START_HINTS['Redis']}  (or set REDIS_URL)"
        )
    return problems
