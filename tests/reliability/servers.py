"""Our own ``redis-server`` and PostgreSQL on free ports, for tests that kill them (never the
machine's)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis
from celery import Celery

from config.settings.base import REDIS_BROKER_TRANSPORT_OPTIONS
from tests.harness import LOG_DIR, free_port


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: the broker-loss test needs it")
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # Nothing on disk: a restart comes back empty, as a lost broker does.
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.log_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def celery_app(self, prefix: str = "chaos:") -> Celery:
        """A client app on this broker, apart from the suite's (which stays on its own)."""
        app = Celery("chaos-client", set_as_current=False)
        app.conf.update(
            broker_url=self.url,
            broker_transport_options={**REDIS_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": prefix},
            task_serializer="json",
            broker_connection_retry_on_startup=True,
        )
        return app

    def stored_keys(self) -> list[bytes]:
        return redis.Redis(port=self.port).keys("*")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


class PostgresServer:
    """Our own PostgreSQL cluster in a temporary directory on a free port, for tests that stop
    it (never the machine's). As root, its programs run as the ``postgres`` user."""

    def __init__(self) -> None:
        self.bindir = self._bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="brickops-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"  # the server's user must be able to write it

    @staticmethod
    def _bindir() -> Path:
        for candidate in (shutil.which("pg_ctl"), shutil.which("initdb")):
            if candidate:
                return Path(candidate).resolve().parent
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        return found[-1].parent

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode:
            log = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        return self

    def start(self) -> PostgresServer:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "30",
            "start",
        )
        return self

    def crash(self) -> None:
        """Stop as a crash would: no checkpoint, open transactions lost, recovery at start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
