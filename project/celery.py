"""The Celery app.

Tasks take ids and call one service; they are enqueued with `enqueue_on_commit`
so a worker never looks for a row that is not committed yet (HackSoft's and
pretix's pattern). JSON only, late acks, redelivery when a worker dies
(every task is idempotent), retry delays below the broker's visibility timeout.

Without CELERY_BROKER_URL (the embedded development default) tasks still run
asynchronously, in a small thread pool of the calling process.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

import structlog
from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


class MarkezyTask(Task):
    """Base task: carries the request id, and runs in-process when embedded."""

    abstract = True
    # Idempotent tasks may be redelivered after a crash; the defaults say so.
    acks_late = True
    reject_on_worker_lost = True

    def apply_async(self, args=None, kwargs=None, **options):
        from django.conf import settings

        if getattr(settings, "CELERY_EMBEDDED", False):
            context = copy_context()
            submit = lambda: _embedded_pool().submit(context.run, self._run_embedded, args or (), kwargs or {})  # noqa: E731
            countdown = options.get("countdown") or 0
            if countdown > 0:
                # A retry's countdown is honoured here too, so it waits instead of spinning.
                timer = threading.Timer(countdown, submit)
                timer.daemon = True
                timer.start()
            else:
                submit()
            return None
        return super().apply_async(args, kwargs, **options)

    def _run_embedded(self, args, kwargs):
        from django.db import close_old_connections

        close_old_connections()
        try:
            self.apply(args=args, kwargs=kwargs, throw=False)
        finally:
            close_old_connections()


_pool: ThreadPoolExecutor | None = None


def _embedded_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="embedded-task")
    return _pool


app = Celery("markezy", task_cls=MarkezyTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A retry countdown or ETA beyond the visibility timeout would make Redis
# redeliver the task while it waits: longer waits are rescheduled in steps.
MAX_COUNTDOWN = 600


def retry_countdown(retries: int, *, base: float = 5.0, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, at least `retry_after` when the
    upstream said so, and never past MAX_COUNTDOWN (see above)."""
    import random

    delay = random.uniform(base, base * (2 ** retries))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_COUNTDOWN)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue `task` once the current transaction commits (at once outside one)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue_now(task, *args, **kwargs))


def enqueue_now(task, *args, **kwargs) -> bool:
    """Enqueue `task`; False if the broker could not take it.

    What called it has already committed (a lead's answer, a qualification):
    a broker that is away (a Redis restart) must not turn that into an error.
    The work left undone is found again by the reconcile tasks on the beat
    schedule (`strategy_reconcile`, `integrations_reconcile`), which look at the rows, not at the queue."""
    try:
        task.delay(*args, **kwargs)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; logged, and reconciled later
        structlog.get_logger(__name__).warning("enqueue_failed", task=task.name, error=f"{type(exc).__name__}: {exc}")
        return False


@signals.worker_process_init.connect
def _tune_gc(**_):
    # Each pool process, once Django is loaded: see project/runtime.py.
    from project.runtime import tune_gc, warm_up

    warm_up()
    tune_gc()


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **_):
    from project.logging import request_id_var

    rid = request_id_var.get()
    if rid and headers is not None:
        headers.setdefault("request_id", rid)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _fresh_connections(task=None, **_):
    # A worker lives for days: a connection the database closed meanwhile (a
    # MySQL restart, wait_timeout) is dropped before and after every task
    # instead of failing the next query, as Django does per request.
    # Not for a task applied eagerly: it runs on its caller's connection, often
    # inside the caller's transaction, which closing would destroy (the
    # embedded runner refreshes its own connections around each task).
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.task_prerun.connect
def _bind_request_id(task=None, **_):
    import structlog

    from project.logging import request_id_var

    rid = getattr(task.request, "request_id", None) if task else None
    if rid:
        request_id_var.set(rid)
        structlog.contextvars.bind_contextvars(request_id=rid)
