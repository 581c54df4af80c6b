"""Test databases copied from one migrated template instead of each migrated from scratch.

Every pytest-xdist worker of ``make test`` (and the fault mode's nested session) needs a test
database of its own. Migrating one costs seconds of CPU each time; PostgreSQL copies a
database from a template in a fraction of that (``CREATE DATABASE ... TEMPLATE``). So the
first session on a machine migrates ``brickops_tpl_<digest>`` once -- the digest covers every
migration file and Django's version, so a changed migration makes a new template and the old
ones are dropped -- and every test database is a copy of it. A file lock makes sessions that
start together wait for the one making the template.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import django
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "brickops_tpl_"
LOCK = Path(tempfile.gettempdir()) / "brickops-test-template.lock"


def migrations_digest() -> str:
    digest = hashlib.sha256(django.get_version().encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _server(db: dict) -> dict:
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
    }


def _url(db: dict, name: str) -> str:
    server = _server(db)
    password = f":{server['password']}" if server["password"] else ""
    return f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"


def database_copy(db: dict, target: str) -> None:
    """Make ``target`` a fresh copy of the migrated template (made first if need be)."""
    template = PREFIX + migrations_digest()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with psycopg.connect(dbname="postgres", autocommit=True, **_server(db)) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [template]
            ).fetchone()
            if not exists:
                _template_make(admin, db, template)
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
            )
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(target), sql.Identifier(template)
                )
            )


def database_drop(db: dict, target: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server(db)) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
        )


def _template_make(admin: psycopg.Connection, db: dict, template: str) -> None:
    stale = admin.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [PREFIX]
    ).fetchall()
    for (name,) in stale:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _url(db, template),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(template)))
        raise RuntimeError(f"migrating the test template failed:\n{done.stderr[-3000:]}")
