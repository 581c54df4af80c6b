"""Real processes for integration tests: a Celery worker started, awaited and stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "test-logs"


def suite_database_url() -> str:
    """The URL of the database pytest-django created, for processes the tests start."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{connection.settings_dict['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a process that must see what this test process sees."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": suite_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_KEY_PREFIX": settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"],
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        # Its counters land beside this process's, where /metrics adds them up.
        "PROMETHEUS_MULTIPROC_DIR": settings.PROMETHEUS_MULTIPROC_DIR,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


class WorkerProcess:
    """``celery worker`` as a child process, consuming the suite's queues."""

    def __init__(
        self,
        *,
        concurrency: int = 2,
        queues: str = "urgent,default",
        pool: str = "prefork",
        env: dict[str, str] | None = None,
        name: str | None = None,
        app: str = "config",
        control_app=None,
    ) -> None:
        self.name = name or f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.app = app
        # Pings go through this app's broker (a worker on another broker needs its own).
        self.control_app = control_app
        self.concurrency = concurrency
        self.queues = queues
        self.pool = pool
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"worker-{self.name.split('@')[0]}.log"

    def start(self, timeout: float = 60) -> WorkerProcess:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                self.app,
                "worker",
                "--hostname",
                self.name,
                "--queues",
                self.queues,
                "--concurrency",
                str(self.concurrency),
                "--pool",
                self.pool,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=child_env(**self.extra_env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.log_tail()}")
            if (self.control_app or app).control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker not ready after {timeout}s: {self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def pool_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown: running tasks finish; then the process exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()


class BeatProcess:
    """``celery beat`` with django-celery-beat's DatabaseScheduler, on the suite's database
    (write the schedules first: ``core.services.periodic_schedules_sync``)."""

    def __init__(self, *, env: dict[str, str] | None = None) -> None:
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"beat-{uuid.uuid4().hex[:8]}.log"

    def start(self) -> BeatProcess:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--loglevel",
                "INFO",
                "--max-interval",
                "1",
                "--pidfile",
                "",
            ],
            cwd=ROOT,
            env=child_env(**self.extra_env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()


def purge_queues() -> None:
    """Drop messages a previous test left behind."""
    with app.connection_for_write() as conn:
        for queue in settings.CELERY_TASK_QUEUES:
            queue.bind(conn.default_channel).purge()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll until ``predicate()`` is truthy and return its value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


class SandboxProcess:
    """``manage.py marketplace_sandbox`` as a child process on a free local port.

    The sandbox needs no database: the child gets the test settings module and nothing else.
    """

    BRICKLINK_CREDENTIALS = {
        "consumer_key": "sandbox-consumer-key",
        "consumer_secret": "sandbox-consumer-secret",
        "token_value": "sandbox-token-value",
        "token_secret": "sandbox-token-secret",
    }
    BRICKOWL_KEY = "sandbox-brickowl-key"

    def __init__(self, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.args = args
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.port = 0
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"sandbox-{uuid.uuid4().hex[:8]}.log"
        import requests

        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bricklink_url(self) -> str:
        return f"{self.url}/bricklink/api/store/v1"

    @property
    def brickowl_url(self) -> str:
        return f"{self.url}/brickowl/v1"

    def start(self, timeout: float = 20) -> SandboxProcess:
        # The port is free when chosen; if another process grabs it first, try another.
        for _attempt in range(3):
            self.port = free_port()
            self._log = self.log_path.open("ab")
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "marketplace_sandbox",
                    "--port",
                    str(self.port),
                    "--host",
                    "127.0.0.1",
                    *self.args,
                ],
                cwd=ROOT,
                env={
                    **os.environ,
                    "DJANGO_SETTINGS_MODULE": "config.settings.test",
                    "PYTHONUNBUFFERED": "1",
                    **self.extra_env,
                },
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if self._wait_ready(timeout):
                return self
            self._close_log()
        raise RuntimeError(f"sandbox did not start: {self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.session.get(f"{self.url}/_calls", timeout=1).ok:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sandbox not ready after {timeout}s: {self.log_tail()}")

    def _request(self, method: str, path: str, **kwargs):
        response = self.session.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"sandbox {path}: {response.status_code} {response.text}")
        return response.json()

    def control(self, **body) -> dict:
        """POST /_control: settings, faults, credentials; answers the resulting config."""
        return self._request("POST", "/_control", json=body)

    def reset(self) -> dict:
        return self.control(reset=True)

    def calls(self) -> dict:
        return self._request("GET", "/_calls")

    def ledger(self) -> list:
        return self._request("GET", "/_ledger")

    def inventory(self, provider: str, account: str) -> list:
        return self._request(
            "GET", "/_inventory", params={"provider": provider, "account": account}
        )

    def inventory_change(self, **body) -> dict:
        """Change a store behind the API's back (drift): not counted, not in the ledger."""
        return self._request("POST", "/_inventory", json=body)

    def order_change(self, **body) -> dict:
        """POST /_orders: place, add to, change the status of, cancel or file an order, as the
        buyer or the marketplace would (marketplaces/sandbox/order_control.py)."""
        return self._request("POST", "/_orders", json=body)

    def orders(self, provider: str, account: str) -> dict:
        """GET /_orders: a store's orders with their items, unread notifications and pushes."""
        return self._request("GET", "/_orders", params={"provider": provider, "account": account})

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.session.close()
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
