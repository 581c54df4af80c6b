"""What /metrics serves: every process's counters added up, and gauges read from the database.

**Process series** (``core.metrics``) are written by each process into its own files under
``PROMETHEUS_MULTIPROC_DIR``. A scrape adds them up. Files of processes that have exited
(gunicorn and Celery recycle their workers, ``CELERY_WORKER_MAX_TASKS_PER_CHILD``) are folded
into one archive file per type first, so the directory does not grow by two files per dead
process forever and the totals never go down (a drop would read as a counter reset).

**Database series** are read at scrape time, so they are right whichever process asks and
however many there are: the refresh outbox by kind and status, the age of its oldest pending
row, each rate limit's remaining tokens and capacity, each circuit breaker's state and how long
ago the drain last finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import os
from collections.abc import Iterator
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
    """Gauges read from PostgreSQL when Prometheus asks."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "brickops_metrics_database_up",
            "1 when the database gauges below could be read in this scrape, else 0.",
        )
        try:
            families = [*self._outbox(), *self._rate_limits(), self._breakers(), self._drain()]
        except DatabaseError:
            logger.exception("metrics: could not read the database gauges")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _outbox(self) -> list[Metric]:
        from django.db.models import Count, Min

        from catalog.models import JobStatus, Kind, RefreshJob

        messages = GaugeMetricFamily(
            "brickops_outbox_messages",
            "Rows of the catalog refresh outbox, by kind and status (finished rows are kept "
            "until the nightly cleanup).",
            labels=["kind", "status"],
        )
        counts = {(kind, status): 0 for kind in Kind.values for status in JobStatus.values}
        rows = RefreshJob.objects.order_by().values_list("kind", "status").annotate(n=Count("id"))
        for kind, status, n in rows:
            counts[kind, status] = n
        for (kind, status), n in sorted(counts.items()):
            messages.add_metric([kind, status], n)

        oldest = GaugeMetricFamily(
            "brickops_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending refresh (since it was queued); 0 when none is pending.",
        )
        created = RefreshJob.objects.filter(status=JobStatus.PENDING).aggregate(
            at=Min("created_at")
        )["at"]
        age = (clock.now() - created).total_seconds() if created else 0.0
        oldest.add_metric([], max(0.0, age))
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
        from ratelimit.models import CircuitBreaker

        family = GaugeMetricFamily(
            "brickops_circuit_breaker_state",
            "Circuit breaker state: 0 closed (calls go out), 1 half-open (one probe is out), "
            "2 open (no calls until the cool-down ends).",
            labels=["breaker"],
        )
        states = {BREAKER: "closed"}  # no row yet: it never opened
        states.update(CircuitBreaker.objects.values_list("name", "state"))
        for name, state in sorted(states.items()):
            family.add_metric([name], BREAKER_STATES.get(state, BREAKER_STATES["open"]))
        return family

    def _drain(self) -> Metric:
        from django.db.models import Max

        from catalog.models import DrainRun

        family = GaugeMetricFamily(
            "brickops_drain_last_finished_age_seconds",
            "Seconds since a drain of the refresh outbox last finished (absent before the "
            "first one).",
        )
        finished = DrainRun.objects.aggregate(at=Max("finished_at"))["at"]
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
