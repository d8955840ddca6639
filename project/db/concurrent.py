"""Independent read-only queries of one request, run at the same time.

A dashboard request asks MariaDB several independent aggregates over the
same range (bench/README.md: 3–7 scans of 40–80 k index entries each). One
connection runs them one after another on one server thread; a small pool
of worker threads, each with its own connection, lets the server use more
than one core for them, and the request waits for the slowest instead of
the sum. Python is idle meanwhile (the threads wait on sockets, without the
GIL), so this costs the web process nothing but the threads.

Only plain SQL belongs in a job: no ORM call that needs the caller's
django-scopes scope (thread-local) or its transaction. Inside a transaction
(a test's, or an atomic request) the jobs run in the caller's thread, since
another connection would not see its uncommitted rows; SQLite runs them
there too (one writer, and its queries are the embedded default's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor | None:
    global _pool
    workers = getattr(settings, "DB_CONCURRENT_QUERIES", 2)
    if workers < 1:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db-concurrent")
        return _pool


def _in_worker(job: Callable[[], T]) -> T:
    # A worker's connection lives as long as the thread: before each job, retire
    # it on the same terms as a request's (CONN_MAX_AGE, an error in the last
    # job, a server restart).
    connection.close_if_unusable_or_obsolete()
    return job()


def run_concurrently(*jobs: Callable[[], T]) -> list[T]:
    """Run read-only SQL jobs at the same time and return their results in
    order. The caller's thread runs the first job on its own connection; the
    others go to the pool. An exception of any job is raised after all finish."""
    pool = _executor()
    if len(jobs) < 2 or pool is None or connection.vendor != "mysql" or connection.in_atomic_block:
        return [job() for job in jobs]
    futures = [pool.submit(_in_worker, job) for job in jobs[1:]]
    try:
        first = jobs[0]()
    finally:
        # Never leave a job running on a worker after the request moved on.
        rest = [(f.exception(), f) for f in futures]
    for error, _ in rest:
        if error is not None:
            raise error
    return [first, *(f.result() for _, f in rest)]
