"""Database work called from the event loop, on a small pool of threads.

Channels' `database_sync_to_async` is thread-sensitive by default: outside a
Django request (every WebSocket consumer) asgiref runs it on one shared
thread for the whole process. With 200 leads writing at once that thread is
a queue: each message waited for every other socket's ORM work and MySQL
round trips, and the time to first token grew to seconds while the second
core and MariaDB sat idle (bench/README.md, "Streaming, 2026-12-02").

`db_async` runs the call on `DB_ASYNC_THREADS` threads instead, each with its
own connection. `DatabaseSyncToAsync` closes that thread's old or broken
connections before and after every call, which is what Channels'
`aclose_old_connections()` does for its single thread. Nothing here relies
on the calls of different sockets being serialised: the services lock the
rows they change (they already run concurrently across web processes), and
one socket still awaits its calls one after the other.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def db_threads() -> int:
    """SQLite (the embedded default) has one writer at a time: one thread
    avoids its lock waits. Elsewhere DB_ASYNC_THREADS (default 2)."""
    if connections["default"].vendor == "sqlite":
        return 1
    return max(1, settings.DB_ASYNC_THREADS)


def db_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=db_threads(), thread_name_prefix="db-async")
    return _executor


def db_async(func: Callable[P, R]) -> Callable[P, R]:
    """`func` as an awaitable that runs on the database threads."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=db_executor())
