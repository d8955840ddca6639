"""Database work called from the event loop: one thread, and spare ones for
when it is stuck.

Channels' `database_sync_to_async` is thread-sensitive by default: outside a
Django request (every WebSocket consumer) asgiref runs it on one shared
thread for the whole process, behind which every frame of every socket also
queued (Channels' per-frame `aclose_old_connections()`). A conversation whose
write waited on a row lock (up to `innodb_lock_wait_timeout`) then held up
every socket of the process.

Simply running the calls on several threads is worse where it matters most:
they all want the GIL, and the event loop that streams the tokens gets a
smaller share of it. Measured at 200 streaming conversations on one process
(bench_stream, same minutes, two runs each): one database thread p95 36–41 ms
added per token, two threads 64–70 ms, and no better time to first token.

So `db_async` calls run in order on one thread, as before, and
`DB_ASYNC_SPARE_THREADS` spare threads (each with its own connection) take
waiting calls only while the main thread's current call has run for
`DB_ASYNC_STUCK_MS`: normal calls take a few ms, so the spares run only while
the main thread is stuck (a lock wait, a slow query), not when it is merely
busy (a long queue of short calls under load, where more threads would only
compete for the GIL), and a stuck conversation holds up no other.

Each call is Channels' `DatabaseSyncToAsync`, which closes the running
thread's old or broken connections before and after: what
`aclose_old_connections()` does for asgiref's shared thread. Nothing relies
on the calls of different sockets being serialised: the services lock the
rows they change (they already run concurrently across web processes), and
one socket still awaits its calls one after the other.

Its hand-off to the thread is not asgiref's, though: a turn makes three of
these calls on the event loop that streams every token, and asgiref's general-
purpose `SyncToAsync.__call__` (thread-sensitive executors, deadlock checks, a
shielded future, every context variable compared and set again on both sides
of the call) costs the loop 97–99 µs of CPU per call (168–172 µs for the whole
process), against 70–72 µs (132–138 µs) here, where the stdlib's
`asyncio.wrap_future` carries the result back (`bench/bench_db_async.py`,
three runs of 2026-12-07). What is kept of it: the caller's context variables
are visible in the call (a copy, as with asgiref; changes made there stay
there, which no service needs), asgiref's `async_to_sync` inside the call runs
on the calling loop, and a caller cancelled while its call still waits in the
queue means the call never runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import deque
from concurrent.futures import Executor, Future
from typing import Awaitable, Callable, ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import connections

from project.sched import db_thread_tune

P = ParamSpec("P")
R = TypeVar("R")


class SpillOverExecutor(Executor):
    """A main worker that runs the calls in order, and spare workers that
    take waiting calls only while the main worker's current call has run
    for `stuck_after` seconds.

    A submit wakes the main worker and, only when none is already timing
    the main worker's current call, one spare: at 200 streaming
    conversations, waking every spare on every call (two per call) cost the
    event loop a GIL hand-off each, and the spares waited more for a core
    (110–160 ms per measured phase) than they ran (bench/README.md,
    "Streaming, 2026-12-04")."""

    def __init__(self, *, spares: int, stuck_after: float, name: str = "db-async"):
        self.stuck_after = stuck_after
        self._queue: deque[tuple[Future, Callable, tuple, dict]] = deque()
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # the main worker waits here for calls
        self._stuck = threading.Condition(lock)  # spares wait here for a stuck main worker
        self._timing = 0  # spares in a timed wait on the main worker's current call
        self.spare_wakeups = 0  # how often a spare woke up to look (tests, and whoever profiles)
        self._shutdown = False
        self._main_busy_since: float | None = None  # start of the main worker's current call
        self._threads = [threading.Thread(target=self._main, name=f"{name}-0", daemon=True)]
        self._threads += [threading.Thread(target=self._spare, name=f"{name}-spare-{i}", daemon=True)
                          for i in range(spares)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._work:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._queue.append((future, fn, args, kwargs))
            self._work.notify()
            self._wake_a_spare()
        return future

    def _wake_a_spare(self) -> None:
        # Called with the lock held. A call waits behind a busy main worker and
        # no spare is timing that: one spare starts the clock.
        if self._queue and self._main_busy_since is not None and self._timing == 0:
            self._stuck.notify()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._work:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            self._work.notify_all()
            self._stuck.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()

    def _main(self) -> None:
        db_thread_tune()
        while True:
            with self._work:
                while not self._queue and not self._shutdown:
                    self._work.wait()
                if not self._queue:
                    self._stuck.notify_all()
                    return
                item = self._queue.popleft()
                self._main_busy_since = time.monotonic()
                self._wake_a_spare()
            try:
                self._run(item)
            finally:
                with self._work:
                    self._main_busy_since = None

    def _spare(self) -> None:
        db_thread_tune()
        while True:
            with self._stuck:
                while True:
                    if self._shutdown and not self._queue:
                        return
                    busy_since = self._main_busy_since
                    if self._queue and busy_since is not None:
                        running = time.monotonic() - busy_since
                        if running >= self.stuck_after:
                            item = self._queue.popleft()
                            # More waiting behind the stuck call: the next spare starts timing.
                            self._wake_a_spare()
                            break
                        self._timing += 1
                        try:
                            self._stuck.wait(self.stuck_after - running)
                        finally:
                            self._timing -= 1
                    else:
                        self._stuck.wait()
                    self.spare_wakeups += 1
            self._run(item)

    @staticmethod
    def _run(item) -> None:
        future, fn, args, kwargs = item
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(exc)
        else:
            future.set_result(result)


_executor: SpillOverExecutor | None = None
_lock = threading.Lock()


def db_spare_threads() -> int:
    """SQLite (the embedded default) has one writer at a time: no spares."""
    if connections["default"].vendor == "sqlite":
        return 0
    return max(0, settings.DB_ASYNC_SPARE_THREADS)


def db_executor() -> SpillOverExecutor:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = SpillOverExecutor(spares=db_spare_threads(), stuck_after=settings.DB_ASYNC_STUCK_MS / 1000)
    return _executor


class _DatabaseCall(DatabaseSyncToAsync):
    """Channels' `database_sync_to_async` on the database threads, its thread
    handler unchanged (old connections closed around the call, asgiref's
    record of the calling loop for `async_to_sync`), with a lean hand-off
    (see the module's docstring)."""

    async def __call__(self, *args, **kwargs):
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        work = self._executor.submit(self.thread_handler, loop, (None, None, None), [], context.run,
                                     functools.partial(self.func, *args, **kwargs))
        # A caller cancelled before its call started cancels it there (it never runs);
        # a started call finishes on its thread, unawaited.
        return await asyncio.wrap_future(work, loop=loop)


def db_async(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` as an awaitable that runs on the database threads."""
    return _DatabaseCall(func, thread_sensitive=False, executor=db_executor())
