"""Each settings mode, loaded in a fresh process with exactly the environment it is given."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.harness import ROOT

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
    "broker": s.CELERY_BROKER_URL, "transport": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "debug": s.DEBUG, "eager": getattr(s, "CELERY_TASK_ALWAYS_EAGER", False),
    "cache": s.CACHES["default"]["BACKEND"],
}, default=str))
"""

BASE_ENV = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=ROOT,
        env={**BASE_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(module: str, **env: str) -> dict:
    result = run_python(PROBE, {"DJANGO_SETTINGS_MODULE": module, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_local_settings_without_urls_use_embedded_sqlite_and_filesystem_broker(tmp_path):
    loaded = load("config.settings.local", BRICKOPS_VAR_DIR=str(tmp_path))
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(tmp_path / "db.sqlite3")
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in loaded["options"]["init_command"]
    assert loaded["options"]["timeout"] >= 20
    assert loaded["broker"].startswith("filesystem://")
    assert loaded["transport"]["data_folder_in"].startswith(str(tmp_path))
    assert loaded["eager"] is False
    # Secrets for local mode are generated per checkout, never hard-coded.
    assert (tmp_path / "secrets" / "secret_key").exists()


def test_local_settings_with_urls_use_postgres_and_redis(tmp_path):
    loaded = load(
        "config.settings.local",
        BRICKOPS_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/brickops",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        REDIS_URL="redis://127.0.0.1:6379/1",
    )
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["broker"] == "redis://127.0.0.1:6379/0"
    assert loaded["cache"].endswith("RedisCache")
    assert loaded["eager"] is False


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 64,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/brickops",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    del env[missing]
    result = run_python(PROBE, env)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_passes_check_deploy_at_warning_level():
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k3y-" + "a1B2c3D4e5" * 6,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/brickops",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "ALLOWED_HOSTS": "brickops.example.com",
    }
    result = run_python("", env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_settings_module_enables_eager_tasks():
    for module in ("local", "test", "production"):
        source = (ROOT / "config" / "settings" / f"{module}.py").read_text()
        assert "ALWAYS_EAGER" not in source
    assert "ALWAYS_EAGER" not in (ROOT / "config" / "settings" / "base.py").read_text()
    assert getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) is False


def test_ensure_database_creates_a_missing_postgres_database_once():
    import psycopg

    from tests.services import postgres_conninfo

    name = "brickops_ensure_db_probe"
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    with psycopg.connect(postgres_conninfo(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
    try:
        first = run_python("", env, "manage.py", "ensure_database")
        second = run_python("", env, "manage.py", "ensure_database")
        assert first.returncode == 0, first.stderr
        assert f"created database {name}" in first.stdout
        assert second.returncode == 0, second.stderr
        assert second.stdout == ""
    finally:
        with psycopg.connect(postgres_conninfo(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
