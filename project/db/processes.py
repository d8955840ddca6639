"""The streaming hot path's database work in worker processes, off the GIL
of the process that relays the tokens.

Why: at 200 streaming conversations the web process is CPU-bound, and half
to three fifths of its GIL time is per-turn work, most of it the ORM's Python
for storing the lead's message and the finished reply (~3–4 ms of CPU per
message and reply, bench/README.md). On the database thread that CPU holds
the GIL the event loop needs for every token of every other conversation;
in a worker process it runs elsewhere and the web process only pickles the
call and its answer (tens of µs).

The event loop itself talks to the worker over its stdin and stdout
(length-prefixed pickles, answers matched by call id): no helper threads in
the web process, which would want the GIL too (concurrent.futures'
ProcessPoolExecutor has two). A worker runs its calls one at a time, in the
order they were sent, as the database thread does.

`DB_PROCESSES` (a setting, 0 by default) sets how many workers each web
process starts; with 0, `db_process(func)` is `db_async(func)`, the database
thread of `project/db/aio.py`. A worker is a plain Django process with its own
connection (`python -m project.db.worker`), set up once.

Only functions that meet these preconditions may be sent here:
- a module-level function (it travels by its qualified name), whose arguments,
  result and exceptions pickle;
- it touches no per-process state of the web process (the hub, sockets,
  caches): it reads and writes the database and returns what to announce;
- it is idempotent: a call whose worker died (killed, out of memory) runs
  once more on a new worker, so a crashed worker loses no message or reply.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pickle
import struct
import sys
from typing import Awaitable, Callable, ParamSpec, TypeVar

import structlog
from django.conf import settings

from project.db.aio import db_async

P = ParamSpec("P")
R = TypeVar("R")

log = structlog.get_logger(__name__)

HEADER = struct.Struct("!I")
READY = b"markezy-db-worker-ready\n"


class WorkerLost(Exception):
    """The worker died with this call sent and unanswered."""


class _Worker:
    """One worker process and the calls it owes answers to."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.pending: dict[int, asyncio.Future] = {}
        self.reader = asyncio.ensure_future(self._read())

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.reader.done()

    def send(self, call_id: int, func, kwargs: dict) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        body = pickle.dumps((call_id, func, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        self.pending[call_id] = future
        # A full pipe buffers in the transport; the worker drains it call by call.
        self.proc.stdin.write(HEADER.pack(len(body)) + body)
        return future

    async def _read(self) -> None:
        stdout = self.proc.stdout
        try:
            while True:
                size, = HEADER.unpack(await stdout.readexactly(HEADER.size))
                call_id, ok, value = pickle.loads(await stdout.readexactly(size))
                future = self.pending.pop(call_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(WorkerLost())
            self.pending.clear()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


class DbProcessPool:
    """`workers` worker processes of this event loop; each call goes to the
    one with the fewest calls waiting, and a dead worker is replaced."""

    def __init__(self, *, workers: int):
        self.workers = workers
        self._slots: list[_Worker | None] = [None] * workers
        self._starting: list[asyncio.Task | None] = [None] * workers
        self._ids = itertools.count(1)

    async def _spawn(self) -> _Worker:
        db_names = {alias: str(db["NAME"]) for alias, db in settings.DATABASES.items()}
        env = {**os.environ, "MARKEZY_DB_WORKER": "1",
               "MARKEZY_DB_WORKER_DATABASES": ",".join(f"{a}={n}" for a, n in db_names.items())}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "project.db.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, limit=2**24,
        )
        ready = await proc.stdout.readline()
        if ready != READY:
            proc.kill()
            raise RuntimeError(f"database worker did not start ({ready!r})")
        return _Worker(proc)

    async def _worker(self, index: int) -> _Worker:
        worker = self._slots[index]
        if worker is not None and worker.alive:
            return worker
        # One start per slot at a time, however many calls wait for it.
        task = self._starting[index]
        if task is None or task.done():
            if worker is not None:
                log.warning("db_worker_lost", returncode=worker.proc.returncode)
            task = self._starting[index] = asyncio.ensure_future(self._spawn())
        worker = self._slots[index] = await asyncio.shield(task)
        return worker

    def _pick(self) -> int:
        loads = [len(w.pending) if w is not None and w.alive else 0 for w in self._slots]
        return loads.index(min(loads))

    async def call(self, func: Callable[..., R], kwargs: dict) -> R:
        for attempt in (1, 2):
            worker = await self._worker(self._pick())
            try:
                return await worker.send(next(self._ids), func, kwargs)
            except WorkerLost:
                log.warning("db_worker_call_lost", function=func.__qualname__, attempt=attempt)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def warm(self) -> None:
        """Start every worker now rather than on the first lead's message
        (a Django set-up takes a second or two)."""
        await asyncio.gather(*(self._worker(i) for i in range(self.workers)))

    def worker_pids(self) -> list[int]:
        return [w.proc.pid for w in self._slots if w is not None and w.alive]

    async def shutdown(self) -> None:
        for worker in self._slots:
            if worker is not None and worker.proc.returncode is None:
                worker.proc.stdin.close()
                try:
                    await asyncio.wait_for(worker.proc.wait(), 5)
                except asyncio.TimeoutError:
                    worker.kill()
        self._slots = [None] * self.workers


_pools: dict[int, DbProcessPool] = {}


def db_process_pool() -> DbProcessPool | None:
    """The running event loop's pool, or None when DB_PROCESSES is 0 (or
    this is a worker). Workers talk to one loop: a pool per loop."""
    if settings.DB_PROCESSES <= 0 or os.environ.get("MARKEZY_DB_WORKER"):
        return None
    loop = asyncio.get_running_loop()
    pool = _pools.get(id(loop))
    if pool is None:
        pool = _pools[id(loop)] = DbProcessPool(workers=settings.DB_PROCESSES)
        # The workers start now, not when the first message waits for them.
        pool.warming = loop.create_task(pool.warm())
        pool.warming.add_done_callback(_warm_done)
    return pool


def _warm_done(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        # The calls start their worker again themselves; say why it failed.
        log.error("db_worker_start_failed", error=repr(task.exception()))


def db_process(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`func` as an awaitable run by a database worker process (see the
    module's preconditions), or on the database thread when there is none.
    Keyword arguments only, as the services take them."""

    async def call(**kwargs):
        pool = db_process_pool()
        if pool is None:
            return await db_async(func)(**kwargs)
        return await pool.call(func, kwargs)

    return call
