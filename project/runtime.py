"""Process-wide runtime tuning shared by the web and worker processes."""

from __future__ import annotations

import gc
import os
import time


def tune_gc() -> None:
    """Move everything loaded at start-up out of the garbage collector's reach
    and keep its stops short.

    Call once, after Django is set up and the URLconf imported. Why: a full
    (generation 2) collection walks every tracked object; with Django, DRF,
    the models and the URLconf loaded that is a few hundred thousand objects,
    and bench/bench_rest.py measured it as the "one request in ten" that took
    110–200 ms instead of 19 ms on `GET conversations/`. Start-up objects live
    as long as the process, so freezing them loses nothing. Thresholds are settings
    (`MARKEZY_GC_THRESHOLDS="gen0,gen1,gen2"`) so they can be tuned per
    deployment without a release.

    Young and middle collections are kept short rather than rare: each one
    stops the event loop for about what it walks (~0.8 µs an object), and a
    stop lands on every token streaming at that moment. At 200 streaming
    conversations `20000,4,100` (the default until 2026-12-04) stopped
    12–16 ms per young collection and 29–37 ms per middle one; `2000,10,400`
    stops 1 ms and 7–11 ms, about ten times as often, for the same collector
    time over a run (~300 ms in 0.5 min either way), and the tokens' p99 fell
    (bench/README.md, "Streaming, 2026-12-04 (22:00–00:05)"). The oldest
    generation's 400 keeps full collections as rare, in allocations, as
    before: every 8 M (2000 × 10 × 400; it was 20000 × 4 × 100). A middle
    collection walks what survived since the last one; `20000,20,20` made
    one stop of 224–303 ms about once a minute, which alone put a 6-second
    window of every stream past its target.
    """
    gc.collect()
    gc.freeze()
    raw = os.environ.get("MARKEZY_GC_THRESHOLDS", "2000,10,400")
    try:
        thresholds = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"MARKEZY_GC_THRESHOLDS must be three integers, got {raw!r}") from None
    if len(thresholds) != 3 or min(thresholds) <= 0:
        raise ValueError(f"MARKEZY_GC_THRESHOLDS must be three positive integers, got {raw!r}")
    gc.set_threshold(*thresholds)
    if _record_pause not in gc.callbacks:
        from project import metrics

        _pause_series[:] = [metrics.GC_PAUSES.labels(str(generation)) for generation in range(3)]
        gc.callbacks.append(_record_pause)


_pause_started = [0.0]
_pause_series: list = []


def _record_pause(phase: str, info: dict) -> None:
    """Each collection's duration into markezy_gc_pause_seconds: a pause stops
    the event loop, so it lands on every token streaming at that moment."""
    if phase == "start":
        _pause_started[0] = time.perf_counter()
    elif _pause_series:
        _pause_series[info["generation"]].observe(time.perf_counter() - _pause_started[0])


def warm_up() -> None:
    """Import what the first request would import lazily (the URLconf and every
    view module it names, and the OpenAI SDK the first reply uses), so it is
    loaded before tune_gc() freezes it, and not on the event loop: the SDK's
    ~1 s of imports stalled every socket of a new web process at its first
    streamed reply (bench/README.md, "Streaming, 2026-12-07 (07:01–08:05)")."""
    from django.urls import get_resolver

    from chat.llm.openai_provider import preload

    get_resolver().url_patterns  # noqa: B018  (evaluating it imports the views)
    preload()
