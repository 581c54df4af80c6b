from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core import clock
from tests import faultmode
from tests.factories import AccountFactory, MembershipFactory, token_for
from tests.harness import WorkerProcess, purge_queues
from tests.services import unreachable_services


def pytest_sessionfinish(session, exitstatus):
    faultmode.report.write()


# Under pytest-xdist (`make test`) the long tests -- real processes, the fuzzer, the browser --
# are handed out first, longest first, so that none of them starts last and keeps the whole run
# waiting (the workers take tests one at a time, in this order).
LONGEST_FIRST = (
    "tests/reliability/test_fault_injection.py",
    "tests/security/test_fuzz_api.py",
    "tests/reliability/test_worker_kills.py",
    "tests/reliability/test_database_restart.py",
    "tests/inventory/test_integration.py::test_random_changes",
    "tests/reliability/test_orders.py",
    "tests/reliability/test_faults.py",
    "tests/core/test_embedded_stack.py",
    "tests/reliability/",
    "tests/e2e/",
)


def pytest_collection_modifyitems(session, config, items):
    # The order that counts is the workers' (pytest-xdist hands out tests in the order they
    # collected them), and a worker's own options say -n 0: it knows it is one by workerinput.
    if not (hasattr(config, "workerinput") or getattr(config.option, "numprocesses", None)):
        return

    def rank(item) -> int:
        for position, prefix in enumerate(LONGEST_FIRST):
            if item.nodeid.startswith(prefix):
                return position
        return len(LONGEST_FIRST) + (0 if item.get_closest_marker("worker") else 1)

    items.sort(key=rank)


def pytest_sessionstart(session):
    problems = unreachable_services()
    if problems:
        pytest.exit(
            "The suite runs against real services, and these are missing:\n  - "
            + "\n  - ".join(problems),
            returncode=3,
        )


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """The session's test database: a copy of the migrated template (tests/dbtemplate.py),
    then Django's own setup on it (``keepdb``: it finds every migration applied)."""
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    from tests.dbtemplate import database_copy, database_drop

    db = settings.DATABASES["default"]
    target = db["TEST"]["NAME"]
    database_copy(db, target)
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0,
            interactive=False,
            keepdb=True,
            aliases={"default"},
            serialized_aliases=set(),
        )
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0, keepdb=True)
        from django.db import connections

        connections.close_all()
    database_drop(db, target)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and read caches never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def account(db):
    return AccountFactory()


@pytest.fixture
def owner(account):
    return MembershipFactory(account=account, role="owner").user


@pytest.fixture
def member(account):
    return MembershipFactory(account=account, role="member").user


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def owner_client(owner) -> APIClient:
    return _client_for(owner)


@pytest.fixture
def member_client(member) -> APIClient:
    return _client_for(member)


@pytest.fixture
def client_for():
    """An authenticated API client for any user."""
    return _client_for


class FakeClock:
    def __init__(self, start):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **delta):
        from datetime import timedelta

        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def fake_clock():
    """The services' clock, frozen at a known instant and moved by the test."""
    from datetime import UTC, datetime

    fake = FakeClock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


def sandbox_env(server) -> dict[str, str]:
    """The environment that points a process's clients at the sandbox."""
    creds = server.BRICKLINK_CREDENTIALS
    return {
        "BRICKLINK_API_URL": server.bricklink_url,
        "BRICKLINK_CONSUMER_KEY": creds["consumer_key"],
        "BRICKLINK_CONSUMER_SECRET": creds["consumer_secret"],
        "BRICKLINK_TOKEN_VALUE": creds["token_value"],
        "BRICKLINK_TOKEN_SECRET": creds["token_secret"],
        "BRICKOWL_API_URL": server.brickowl_url,
        "BRICKOWL_API_KEY": server.BRICKOWL_KEY,
    }


_session_workers: list[WorkerProcess] = []


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, sandbox_server):
    """A real ``celery worker`` process on Redis and the test database, talking to the
    sandbox, for the whole session. Tests that use it need ``transactional_db`` so the worker
    sees their rows (the ``worker`` fixture gives both)."""
    worker = WorkerProcess(env=sandbox_env(sandbox_server)).start()
    _session_workers.append(worker)
    yield worker
    worker.stop()


@pytest.fixture
def sole_workers():
    """The test's own workers are the only ones on the suite's queues: the session's worker,
    if an earlier test started it, stops (warm) for the test and starts again after. Without
    this it takes a share of the work -- with its own settings and the session's sandbox."""
    paused = [worker for worker in _session_workers if worker.proc.poll() is None]
    for worker in paused:
        worker.stop()
    yield
    for worker in paused:
        worker.start()


@pytest.fixture
def start_worker(django_db_setup, sandbox_server):
    """Start extra workers with their own settings (e.g. a short lease); all stopped after."""
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        env = {**sandbox_env(sandbox_server), **kwargs.pop("env", {})}
        worker = WorkerProcess(env=env, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def worker(celery_worker, transactional_db):
    """The session's worker, with the queues emptied before the test."""
    purge_queues()
    assert celery_worker.proc.poll() is None, celery_worker.log_tail()
    yield celery_worker
    purge_queues()


@pytest.fixture(scope="session")
def sandbox_server():
    """One marketplace sandbox process for the whole session (no database needed)."""
    from tests.harness import SandboxProcess

    server = SandboxProcess(args=faultmode.sandbox_args()).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, request):
    """The session's sandbox, reset to its startup settings with empty stores (in fault mode,
    tests/faultmode.py, its startup faults included unless the test is ``exact_sandbox``)."""
    assert sandbox_server.proc.poll() is None, sandbox_server.log_tail()
    if not faultmode.ON:
        sandbox_server.reset()
        yield sandbox_server
        return
    clean = request.node.get_closest_marker("exact_sandbox") is not None
    if clean:
        startup = sandbox_server.control(reset=True, faults=[])
    else:
        startup = sandbox_server.control(
            reset=True, fault_seed=faultmode.seed_for(request.node.nodeid)
        )
    yield sandbox_server
    if sandbox_server.proc.poll() is None:
        staged = faultmode.rules(sandbox_server.control()) != faultmode.rules(startup)
        faultmode.report.add(sandbox_server.calls(), clean=clean, staged=staged)


@pytest.fixture
def bricklink_sandbox(sandbox, settings):
    """This test process's clients talk to the sandbox (reset for the test)."""
    for name, value in sandbox_env(sandbox).items():
        setattr(settings, name, value)
    return sandbox


@pytest.fixture(scope="session")
def sandbox_catalog():
    """The catalog the sandbox serves (seed 1), to pick items by property."""
    from marketplaces.sandbox.catalog import build_catalog

    return build_catalog(1)
