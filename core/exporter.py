"""What /metrics serves: every process's counters added up, and gauges read from the database.

**Process series** (``core.metrics``) are written by each process into its own files under
``PROMETHEUS_MULTIPROC_DIR``. A scrape adds them up. Files of processes that have exited
(gunicorn and Celery recycle their workers, ``CELERY_WORKER_MAX_TASKS_PER_CHILD``) are folded
into one archive file per type first, so the directory does not grow by two files per dead
process forever and the totals never go down (a drop would read as a counter reset).

**Database series** are read at scrape time, so they are right whichever process asks and
however many there are: every kind of background work (``brickops_work_*``: rows by status,
due, overdue, the oldest due row's wait, in flight, expired leases), the refresh outbox by
refresh kind and status and the age of its oldest pending row, each rate limit's remaining
tokens and capacity, each circuit breaker's state and how long ago the drain last finished.
They come from the selectors the admin's queue dashboard reads, so the two always agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from core import clock

logger = logging.getLogger(__name__)

# Types whose per-process values are added up (gauges are per process; none are used here).
SUMMED_TYPES = ("counter", "histogram", "summary")
ARCHIVE = "archive"
LOCK_FILE = ".lock"

# brickops_circuit_breaker_state values.
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def multiproc_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """One scrape at a time per directory: folding files away must not race a reader."""
    with open(os.path.join(path, LOCK_FILE), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pid_of(file: str) -> int | None:
    """``counter_1234.db`` -> 1234; the archive and anything else -> None."""
    pid = Path(file).stem.rsplit("_", 1)[-1]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _write_archive(path: str, typ: str, metrics: list[Metric]) -> None:
    """Replace ``typ``'s archive with the merged (not cumulative) values of ``metrics``."""
    partial = os.path.join(path, f".{typ}_{ARCHIVE}.partial")  # not *.db: never read half-done
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)
    archive = MmapedDict(partial)
    try:
        for metric in metrics:
            for sample in metric.samples:
                key = mmap_key(
                    metric.name,
                    sample.name,
                    list(sample.labels),
                    list(sample.labels.values()),
                    metric.documentation,
                )
                archive.write_value(key, sample.value, 0.0)
    finally:
        archive.close()
    os.replace(partial, os.path.join(path, f"{typ}_{ARCHIVE}.db"))


def compact(path: str) -> int:
    """Fold the files of exited processes into the archive files; answers how many went.

    Only summed types: a dead process's counts still belong in the totals. The caller holds
    the directory's lock."""
    folded = 0
    for typ in SUMMED_TYPES:
        dead = [
            file
            for file in glob.glob(os.path.join(path, f"{typ}_*.db"))
            if (pid := _pid_of(file)) is not None and not _alive(pid)
        ]
        if not dead:
            continue
        archive = os.path.join(path, f"{typ}_{ARCHIVE}.db")
        sources = [archive, *dead] if os.path.exists(archive) else dead
        merged = list(MultiProcessCollector.merge(sources, accumulate=False))
        _write_archive(path, typ, merged)
        # A crash between the replace above and these removals counts the dead files twice
        # (a jump up, never a drop); it cannot lose counts.
        for file in dead:
            with contextlib.suppress(FileNotFoundError):
                os.remove(file)
        folded += len(dead)
    return folded


def process_exited(pid: int) -> None:
    """A worker process has exited (gunicorn's ``child_exit``, Celery's
    ``worker_process_shutdown``): drop its per-process gauges. Its counters stay; the next
    scrape folds them into the archive."""
    path = multiproc_dir()
    if path:
        mark_process_dead(pid, path)


def clear(path: str) -> int:
    """Remove the files of processes that are not running, and the archives: counts start
    from zero. Run when the machine's processes start (``make run`` does); files of live
    processes are kept, so running it beside a live stack cannot break a process's counting."""
    removed = 0
    with _locked(path):
        for file in glob.glob(os.path.join(path, "*.db")):
            pid = _pid_of(file)
            if pid is not None and _alive(pid):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.remove(file)
                removed += 1
    return removed


class ProcessFilesCollector:
    """Every process's counters and histograms, added up (dead processes folded first)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        with _locked(self.path):
            try:
                compact(self.path)
            except (OSError, RuntimeError, ValueError):
                # A torn or unreadable file: serve what can be read, keep the dead files.
                logger.exception("metrics: could not fold the files of exited processes")
            files = glob.glob(os.path.join(self.path, "*.db"))
            metrics = list(MultiProcessCollector.merge(files, accumulate=True))
        yield from metrics


class DatabaseCollector:
    """Gauges read from PostgreSQL when Prometheus asks, through the selectors the admin's
    queue dashboard reads (core/dashboard.py)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "brickops_metrics_database_up",
            "1 when the database gauges below could be read in this scrape, else 0.",
        )
        try:
            families = [*self._work(), *self._rate_limits(), self._breakers(), self._drain()]
        except DatabaseError:
            logger.exception("metrics: could not read the database gauges")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _work(self) -> list[Metric]:
        """Every kind of background work (refresh, inventory_sync, ...), labelled ``work``, and
        the refresh outbox's own series by refresh kind -- from one pass over each table."""
        from catalog.work import REFRESHES
        from outbox.selectors import OVERDUE_AFTER, work_overview

        def gauge(name: str, documentation: str, labels: tuple[str, ...] = ("work",)):
            return GaugeMetricFamily(name, documentation, labels=list(labels))

        rows = gauge(
            "brickops_work_rows",
            "Rows of each kind of background work by status, every status of its table "
            "(zeros included).",
            ("work", "status"),
        )
        due = gauge(
            "brickops_work_due_rows",
            "Rows with work to do, held by no worker, whose next attempt is not in the future.",
        )
        overdue = gauge(
            "brickops_work_overdue_rows",
            f"Due rows that have waited more than {OVERDUE_AFTER.total_seconds():.0f} s for a "
            "worker.",
        )
        oldest = gauge(
            "brickops_work_oldest_due_age_seconds",
            "How long the longest-waiting due row has waited since it became due; 0 when none "
            "is due.",
        )
        in_flight = gauge(
            "brickops_work_in_flight_rows",
            "Rows a worker holds now (claimed: a claim token is set), expired leases included.",
        )
        expired = gauge(
            "brickops_work_lease_expired_rows",
            "Held rows whose lease ran out: their worker stopped; the outbox sweep takes them "
            "back within seconds.",
        )
        now = clock.now()
        work = work_overview(now=now, split_by={REFRESHES.kind: "kind"})
        for kind, figures in work.items():
            for status, n in figures.statuses.items():
                rows.add_metric([kind, status], n)
            due.add_metric([kind], figures.due)
            overdue.add_metric([kind], figures.overdue)
            oldest.add_metric([kind], figures.oldest_due_seconds or 0.0)
            in_flight.add_metric([kind], figures.in_flight)
            expired.add_metric([kind], figures.lease_expired)
        outbox = self._outbox(now, work[REFRESHES.kind].split)
        return [*outbox, rows, due, overdue, oldest, in_flight, expired]

    def _outbox(self, now: datetime, counts: dict[str, dict[str, int]]) -> list[Metric]:
        """The refresh outbox's own series: ``counts`` is refresh kind -> status -> rows."""
        from catalog.models import JobStatus, Kind
        from catalog.selectors import refresh_oldest_pending_at

        messages = GaugeMetricFamily(
            "brickops_outbox_messages",
            "Rows of the catalog refresh outbox, by kind and status (finished rows are kept "
            "until the nightly cleanup).",
            labels=["kind", "status"],
        )
        for kind in sorted({*Kind.values, *counts}):  # every kind and status: zeros included
            for status in sorted({*JobStatus.values, *counts.get(kind, {})}):
                messages.add_metric([kind, status], counts.get(kind, {}).get(status, 0))

        oldest = GaugeMetricFamily(
            "brickops_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending refresh (since it was queued); 0 when none is pending.",
        )
        created = refresh_oldest_pending_at()
        oldest.add_metric([], max(0.0, (now - created).total_seconds()) if created else 0.0)
        return [messages, oldest]

    def _rate_limits(self) -> list[Metric]:
        from ratelimit.selectors import rate_limit_status

        labels = ["limit", "rule", "kind"]
        remaining = GaugeMetricFamily(
            "brickops_ratelimit_remaining",
            "Tokens a rate limit's rule can grant now (negative while reserved ahead). For a "
            "limit kept per account, the account with the least left.",
            labels=labels,
        )
        capacity = GaugeMetricFamily(
            "brickops_ratelimit_capacity",
            "The most a rate limit's rule can hold: its window's quota or its bucket's size.",
            labels=labels,
        )
        lowest: dict[tuple[str, str, str], float] = {}
        capacities: dict[tuple[str, str, str], float] = {}
        for status in rate_limit_status():
            for index, rule in enumerate(status.rules):
                identity = (status.name, str(index), rule.kind)
                lowest[identity] = min(lowest.get(identity, rule.remaining), rule.remaining)
                capacities[identity] = rule.capacity
        for identity in sorted(lowest):
            remaining.add_metric(list(identity), lowest[identity])
            capacity.add_metric(list(identity), capacities[identity])
        return [remaining, capacity]

    def _breakers(self) -> Metric:
        from catalog.domain import BREAKER
        from catalog.selectors import breaker_list

        family = GaugeMetricFamily(
            "brickops_circuit_breaker_state",
            "Circuit breaker state: 0 closed (calls go out), 1 half-open (one probe is out), "
            "2 open (no calls until the cool-down ends).",
            labels=["breaker"],
        )
        states = {BREAKER: "closed"}  # no row yet: it never opened
        states.update((breaker.name, breaker.state) for breaker in breaker_list())
        for name, state in sorted(states.items()):
            family.add_metric([name], BREAKER_STATES.get(state, BREAKER_STATES["open"]))
        return family

    def _drain(self) -> Metric:
        from catalog.selectors import drain_last_finished_at

        family = GaugeMetricFamily(
            "brickops_drain_last_finished_age_seconds",
            "Seconds since a drain of the refresh outbox last finished (absent before the "
            "first one).",
        )
        finished = drain_last_finished_at()
        if finished is not None:
            family.add_metric([], max(0.0, (clock.now() - finished).total_seconds()))
        return family


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: the process files (or, if multiprocess mode is off, this
    process's own series) and the database gauges."""
    registry = CollectorRegistry()
    path = multiproc_dir()
    if path:
        registry.register(ProcessFilesCollector(path))
    else:  # the settings always set it; this keeps /metrics useful if it was removed
        from prometheus_client import REGISTRY

        registry.register(REGISTRY)
    registry.register(DatabaseCollector())
    return registry
