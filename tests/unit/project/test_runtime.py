"""project/runtime.py: the garbage-collector tuning every process applies at start-up."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from project.runtime import tune_gc


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_freezes_what_is_loaded_and_sets_the_thresholds(restore_gc, monkeypatch):
    monkeypatch.setenv("MARKEZY_GC_THRESHOLDS", "12345,7,9")
    kept = [object() for _ in range(10)] + [[] for _ in range(1000)]
    tune_gc()
    assert gc.get_threshold() == (12345, 7, 9)
    # Everything alive at start-up is out of the collector's generations.
    assert gc.get_freeze_count() > len(kept)
    assert not any(obj is kept[-1] for obj in gc.get_objects())


def test_default_thresholds_keep_the_collectors_stops_short_and_full_collections_rare(restore_gc, monkeypatch):
    monkeypatch.delenv("MARKEZY_GC_THRESHOLDS", raising=False)
    tune_gc()
    young, middle, oldest = gc.get_threshold()
    # A young collection walks up to `young` objects and a middle one what `middle` young ones
    # left: both stop the event loop, so both stay small (about 1 ms and 10 ms at 200 streams).
    assert 700 <= young <= 5000 and young * middle <= 50_000
    # Full collections no more often, in allocations, than with the earlier 20000,4,100.
    assert young * middle * oldest >= 20000 * 4 * 100


@pytest.mark.parametrize("raw", ["1,2", "a,b,c", "0,10,10", "-1,10,10"])
def test_bad_thresholds_are_refused_by_name(restore_gc, monkeypatch, raw):
    monkeypatch.setenv("MARKEZY_GC_THRESHOLDS", raw)
    with pytest.raises(ValueError, match="MARKEZY_GC_THRESHOLDS"):
        tune_gc()


def test_the_asgi_application_starts_with_the_tuning():
    # A fresh interpreter, as daphne starts one: importing the ASGI module is start-up.
    code = ("import gc, project.asgi; "
            "assert gc.get_freeze_count() > 10000, gc.get_freeze_count(); print(gc.get_threshold())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "project.settings",
                              "MARKEZY_GC_THRESHOLDS": "30000,20,20"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "(30000, 20, 20)"


def test_the_openai_sdk_is_loaded_and_frozen_at_start_up_not_at_the_first_reply():
    # Imported lazily, the SDK's ~1 s of imports ran on the event loop at a new
    # process's first streamed reply, while every socket of the process waited.
    code = (
        "import gc, sys, time, asyncio, project.asgi\n"
        "for name in ('openai', 'openai.types.chat', 'aiohttp', 'h11', 'anyio'):\n"
        "    assert name in sys.modules, name\n"
        "import openai\n"
        "ids = {id(o) for o in gc.get_objects()}\n"
        "assert id(openai.AsyncOpenAI) not in ids, 'the SDK is not frozen'\n"
        "from chat.llm.openai_provider import OpenAIProvider\n"
        "async def first_client():\n"
        "    provider = OpenAIProvider(api_key='k', base_url='http://127.0.0.1:9/v1', model='m', embedding_model='e')\n"
        "    started = time.thread_time()\n"
        "    provider.client()\n"
        "    return time.thread_time() - started\n"
        "print(round(asyncio.run(first_client()) * 1000, 1))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "project.settings"})
    assert out.returncode == 0, out.stderr[-2000:]
    # The event loop's first client: no imports and no CA bundle left to load
    # (a few ms on a loaded machine; ~150 ms before).
    assert float(out.stdout.strip()) < 40, out.stdout


def test_collections_are_timed_into_the_gc_pause_histogram(restore_gc):
    from project import metrics

    tune_gc()
    tune_gc()  # once is enough: a second call adds no second callback
    assert sum(1 for cb in gc.callbacks if getattr(cb, "__name__", "") == "_record_pause") == 1

    def count() -> float:
        return metrics.REGISTRY.get_sample_value("markezy_gc_pause_seconds_count", {"generation": "2"}) or 0

    before = count()
    gc.collect()
    assert count() == before + 1
