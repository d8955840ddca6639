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
