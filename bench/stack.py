"""Real processes for the benchmarks: the sandbox, Celery workers, gunicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests
from common import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sandbox_env(sandbox) -> dict[str, str]:
    creds = sandbox.BRICKLINK_CREDENTIALS
    return {
        "BRICKLINK_API_URL": sandbox.bricklink_url,
        "BRICKLINK_CONSUMER_KEY": creds["consumer_key"],
        "BRICKLINK_CONSUMER_SECRET": creds["consumer_secret"],
        "BRICKLINK_TOKEN_VALUE": creds["token_value"],
        "BRICKLINK_TOKEN_SECRET": creds["token_secret"],
        "BRICKOWL_API_URL": sandbox.brickowl_url,
        "BRICKOWL_API_KEY": sandbox.BRICKOWL_KEY,
    }


@contextmanager
def sandbox(*, args: tuple[str, ...] = (), **control):
    from tests.harness import SandboxProcess

    server = SandboxProcess(args=args).start()
    try:
        # Many workers share one consumer key here: lift the sandbox's 5-in-flight gateway.
        server.control(bricklink_max_in_flight=64, bricklink_quota=10**9, **control)
        yield server
    finally:
        server.stop()


@contextmanager
def workers(*, concurrency: int, env: dict[str, str], app: str = "config", count: int = 1):
    from tests.harness import WorkerProcess, purge_queues

    purge_queues()
    started = [
        WorkerProcess(concurrency=concurrency, env=env, app=app).start() for _ in range(count)
    ]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
        purge_queues()


@contextmanager
def beat(*, env: dict[str, str]):
    """``celery beat`` with the project's schedules, as the real stack runs it."""
    from django.core.management import call_command

    from tests.harness import BeatProcess

    call_command("setup_schedules", verbosity=0)
    process = BeatProcess(env=env).start()
    try:
        yield process
    finally:
        process.stop()


@contextmanager
def gunicorn(*, workers: int, env: dict[str, str], settings_module: str):
    from tests.harness import child_env

    port = free_port()
    log = (ROOT / "var" / "bench-gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--backlog",
            "2048",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=child_env(DJANGO_SETTINGS_MODULE=settings_module, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("gunicorn did not start: see var/bench-gunicorn.log")
        time.sleep(0.2)
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
