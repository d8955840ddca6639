"""project/sched.py: the kernel takes the per-thread hints, the web
process's database and request threads set their own, nothing changes
outside the web process, and a platform without the hints changes nothing."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import threading

import pytest

from project import sched
from project.db.aio import SpillOverExecutor
from project.http_threads import PersistentRequestThreads

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling attributes")


def in_thread(fn):
    """fn's result, run on a fresh thread (a test never retunes pytest's own)."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", fn()))
    thread.start()
    thread.join(5)
    return box["result"]


@pytest.fixture
def web(monkeypatch):
    """As if this were the web process; restored after the test."""
    monkeypatch.setattr(sched, "_web", None)
    return monkeypatch


def test_a_thread_gets_the_slice_and_nice_it_asks_for():
    def tune():
        before = sched.thread_attr_get()
        took = sched.thread_schedule(slice_us=250, nice_increment=3)
        return before, took, sched.thread_attr_get()

    (nice_before, default_slice), took, after = in_thread(tune)
    assert took is True
    assert after == (nice_before + 3, 250)
    assert default_slice > 250  # the kernel's default (its base slice, scaled by the number of cores)


def test_a_thread_started_by_a_tuned_one_inherits_until_it_sets_its_own():
    def tune():
        sched.thread_schedule(slice_us=300)
        inherited = in_thread(sched.thread_attr_get)
        restored = in_thread(lambda: (sched.thread_schedule(slice_us=0), sched.thread_attr_get())[1])
        return inherited, restored

    inherited, restored = in_thread(tune)
    assert inherited[1] == 300
    assert restored[1] not in (0, 300)  # back to the kernel's default


def test_the_web_loop_is_tuned_and_its_database_threads_drop_the_slice_and_take_less_cpu(web):
    web.setenv("MARKEZY_LOOP_SLICE_US", "200")
    web.setenv("MARKEZY_DB_THREAD_NICE", "7")

    def loop_then_executor():
        # The loop thread tunes itself first, then creates the executor, as the web process does.
        loop_nice = sched.thread_attr_get()[0]
        tuning = sched.loop_thread_tune()
        loop = sched.thread_attr_get()
        executor = SpillOverExecutor(spares=1, stuck_after=0.05, name="test-sched")
        try:
            worker = executor.submit(sched.thread_attr_get).result(5)
        finally:
            executor.shutdown(wait=True)
        return loop_nice, tuning, loop, worker

    loop_nice, tuning, loop, (worker_nice, worker_slice) = in_thread(loop_then_executor)
    assert tuning == sched.WebTuning(loop_slice_us=200, db_thread_nice=7)
    assert loop == (loop_nice, 200)  # the loop's share is unchanged
    assert worker_nice == min(19, loop_nice + 7)
    assert worker_slice not in (0, 200)


def test_the_web_request_threads_drop_the_slice_and_keep_the_ordinary_share(web):
    web.setenv("MARKEZY_LOOP_SLICE_US", "150")

    def loop_then_request_thread():
        loop_nice = sched.thread_attr_get()[0]
        sched.loop_thread_tune()
        app = PersistentRequestThreads(None, threads=1)
        try:
            return loop_nice, app.executors[0].submit(sched.thread_attr_get).result(5)
        finally:
            app.executors[0].shutdown(wait=True)

    loop_nice, (nice, slice_us) = in_thread(loop_then_request_thread)
    assert nice == loop_nice
    assert slice_us not in (0, 150)


def test_the_defaults(web):
    web.delenv("MARKEZY_LOOP_SLICE_US", raising=False)
    web.delenv("MARKEZY_DB_THREAD_NICE", raising=False)
    assert in_thread(sched.loop_thread_tune) == sched.WebTuning(loop_slice_us=200, db_thread_nice=10)


def test_outside_the_web_process_the_database_threads_are_left_alone(web):
    web.setenv("MARKEZY_DB_THREAD_NICE", "7")
    before, after = in_thread(lambda: (sched.thread_attr_get(), (sched.db_thread_tune(), sched.thread_attr_get())[1]))
    assert after == before


def test_zero_turns_each_hint_off(web):
    web.setenv("MARKEZY_LOOP_SLICE_US", "0")
    web.setenv("MARKEZY_DB_THREAD_NICE", "0")

    def tune():
        before = sched.thread_attr_get()
        sched.loop_thread_tune()
        loop = sched.thread_attr_get()
        sched.db_thread_tune()
        return before, loop, sched.thread_attr_get()

    before, loop, db = in_thread(tune)
    assert before == loop == db


def test_an_unknown_platform_changes_nothing_and_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(platform, "machine", lambda: "pdp11")
    monkeypatch.setattr(sched, "_warned", threading.Event())
    with caplog.at_level(logging.WARNING, logger="project.sched"):
        assert sched.thread_schedule(slice_us=200) is False
        assert sched.thread_schedule(nice_increment=3) is False
    assert [r.getMessage() for r in caplog.records] == [
        "thread scheduling hints not applied: no sched_getattr number known for pdp11"]


@pytest.mark.parametrize("name, raw", [("MARKEZY_LOOP_SLICE_US", "fast"), ("MARKEZY_LOOP_SLICE_US", "-5"),
                                       ("MARKEZY_DB_THREAD_NICE", "20"), ("MARKEZY_DB_THREAD_NICE", "-1")])
def test_a_bad_setting_fails_loudly(web, name, raw):
    web.setenv(name, raw)
    with pytest.raises(ValueError, match=name):
        sched.loop_thread_tune()


def test_the_asgi_application_tunes_its_loop_and_its_database_thread():
    # A fresh interpreter, as the ASGI server starts one: importing the ASGI module is start-up,
    # on the thread that then runs the event loop.
    code = ("import project.asgi; from project.sched import thread_attr_get; "
            "from project.db.aio import db_executor; "
            "print(thread_attr_get(), db_executor().submit(thread_attr_get).result(10))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "MARKEZY_LOOP_SLICE_US": "300",
           "MARKEZY_DB_THREAD_NICE": "6"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    loop, db = (tuple(int(n) for n in part.strip("() ").split(",")) for part in out.stdout.strip().split(") ("))
    assert loop[1] == 300
    assert db[0] == min(19, loop[0] + 6) and db[1] not in (0, 300)
