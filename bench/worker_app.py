"""The project's Celery app, plus a record of the database time each task spent.

Every query a task runs goes through a Django execute wrapper; at the task's end its total is
appended to ``$BENCH_DB_TIMES`` (one line per task: seconds of database time).
"""

from __future__ import annotations

import os
import time

from celery.signals import task_postrun, task_prerun
from django.db import connection

from config.celery import app

__all__ = ["app"]
_state: dict[str, object] = {}


def _timer(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        _state["db"] = _state.get("db", 0.0) + time.perf_counter() - started


@task_prerun.connect
def _start(**kwargs):
    _state["db"] = 0.0
    _state["wrapper"] = connection.execute_wrapper(_timer)
    _state["wrapper"].__enter__()


@task_postrun.connect
def _finish(task=None, retval=None, **kwargs):
    wrapper = _state.pop("wrapper", None)
    if wrapper is not None:
        wrapper.__exit__(None, None, None)
    path = os.environ.get("BENCH_DB_TIMES")
    if path and task is not None and task.name == "catalog.process_refresh":
        with open(path, "a") as out:
            out.write(f"{_state.get('db', 0.0):.6f} {retval}\n")
