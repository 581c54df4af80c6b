"""Tasks through a real worker process on Redis and PostgreSQL (the embedded stack has its own
scenario: tests/core/test_embedded_stack.py)."""

import pytest

from core.models import WorkerHeartbeat
from core.tasks import heartbeat
from tests.harness import wait_for


@pytest.mark.worker
def test_heartbeat_task_runs_end_to_end_through_a_real_worker(worker):
    heartbeat.apply_async(queue="urgent")
    beat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname=worker.name).first(),
        message="the worker to record its heartbeat",
    )
    assert beat.beats == 1
    heartbeat.delay()
    wait_for(lambda: WorkerHeartbeat.objects.get(hostname=worker.name).beats == 2)


@pytest.mark.django_db(transaction=True)
def test_worker_heartbeat_record_counts_concurrent_first_beats():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from core.services import worker_heartbeat_record

    def beat(_):
        try:
            worker_heartbeat_record(hostname="racing@host")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(beat, range(40)))
    assert WorkerHeartbeat.objects.get(hostname="racing@host").beats == 40
