"""project/db/aio.py's executor: one main thread runs the calls in order;
spare threads step in only while the main thread's call is stuck."""

from __future__ import annotations

import threading
import time

import pytest

from project.db.aio import SpillOverExecutor


@pytest.fixture
def executor():
    ex = SpillOverExecutor(spares=2, stuck_after=0.2, name="test-db")
    yield ex
    ex.shutdown(wait=True, cancel_futures=True)


def test_calls_run_in_order_on_the_main_thread(executor):
    seen = []
    futures = [executor.submit(lambda i=i: seen.append((i, threading.current_thread().name))) for i in range(30)]
    for f in futures:
        f.result(5)
    assert [i for i, _ in seen] == list(range(30))
    assert {name for _, name in seen} == {"test-db-0"}


def test_a_long_queue_of_short_calls_stays_on_the_main_thread(executor):
    # 40 × 15 ms: the last call waits 0.6 s, but no single call is stuck.
    names = [executor.submit(lambda: (time.sleep(0.015), threading.current_thread().name)[1]) for _ in range(40)]
    assert {f.result(5) for f in names} == {"test-db-0"}


def test_spares_are_not_woken_by_every_call(executor):
    # 100 calls of ~2 ms, each submitted while the main thread is busy: one spare
    # times the main thread (a wake-up per stuck_after at most), the others sleep.
    futures = []
    for _ in range(100):
        futures.append(executor.submit(time.sleep, 0.002))
        time.sleep(0.001)
    for f in futures:
        f.result(5)
    assert executor.spare_wakeups <= 5, executor.spare_wakeups


def test_a_stuck_call_lets_the_spares_take_the_others(executor):
    release = threading.Event()
    stuck = executor.submit(lambda: (release.wait(5), threading.current_thread().name)[1])
    time.sleep(0.05)
    started = time.monotonic()
    others = [executor.submit(lambda: threading.current_thread().name) for _ in range(5)]
    names = {f.result(2) for f in others}
    assert time.monotonic() - started < 0.6
    assert names and all(name.startswith("test-db-spare-") for name in names)
    assert not stuck.done()
    release.set()
    assert stuck.result(2) == "test-db-0"
    # Unstuck: the main thread takes the calls again.
    assert executor.submit(lambda: threading.current_thread().name).result(2) == "test-db-0"


def test_errors_reach_the_caller_and_shutdown_refuses_new_work():
    ex = SpillOverExecutor(spares=0, stuck_after=0.2, name="test-db")

    def boom():
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        ex.submit(boom).result(2)
    ex.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        ex.submit(lambda: 1)


# --- db_async: the hand-off from the event loop ------------------------------------


@pytest.fixture
def one_thread(monkeypatch):
    """db_async on an executor of its own with no spares, so that a call is
    "still queued" for exactly as long as the one before it runs."""
    from project.db import aio

    ex = SpillOverExecutor(spares=0, stuck_after=60, name="test-db")
    monkeypatch.setattr(aio, "_executor", ex)
    yield ex
    ex.shutdown(wait=True, cancel_futures=True)


async def test_the_call_runs_on_the_database_thread_and_its_result_and_errors_come_back(one_thread):
    from project.db.aio import db_async

    def where(x, *, y):
        return x + y, threading.current_thread().name

    assert await db_async(where)(1, y=2) == (3, "test-db-0")

    def boom():
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        await db_async(boom)()
    assert db_async(where).__name__ == "where"


async def test_the_callers_context_variables_are_seen_there_and_its_changes_stay_there(one_thread):
    import contextvars

    from project.db.aio import db_async

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")

    def read_then_set():
        seen = var.get()
        var.set("changed in the call")
        return seen

    assert await db_async(read_then_set)() == "caller"
    assert var.get() == "caller"


async def test_a_caller_cancelled_while_its_call_waits_means_it_never_runs(one_thread):
    import asyncio

    from project.db.aio import db_async

    release = threading.Event()
    ran = []
    blocker = asyncio.ensure_future(db_async(release.wait)(5))
    queued = asyncio.ensure_future(db_async(ran.append)("ran"))
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    release.set()
    assert await blocker is True
    # The thread is free again and took nothing else: the cancelled call is gone.
    assert await db_async(lambda: "next")() == "next"
    assert ran == []


async def test_old_connections_are_closed_before_and_after_each_call_on_its_thread(one_thread, monkeypatch):
    import channels.db

    from project.db import aio

    closed = []
    # Channels' thread handler does it (what aclose_old_connections() does for asgiref's shared thread).
    monkeypatch.setattr(channels.db, "close_old_connections", lambda: closed.append(threading.current_thread().name))
    order = []

    def work():
        order.append(len(closed))
        return "done"

    assert await aio.db_async(work)() == "done"
    assert closed == ["test-db-0", "test-db-0"] and order == [1]


async def test_async_to_sync_inside_a_call_runs_on_the_callers_loop(one_thread):
    import asyncio

    from asgiref.sync import async_to_sync

    from project.db.aio import db_async

    async def which_loop():
        return asyncio.get_running_loop()

    assert await db_async(lambda: async_to_sync(which_loop)())() is asyncio.get_running_loop()
