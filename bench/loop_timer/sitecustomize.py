"""Times every callback of the standard asyncio event loop in a web process
started with this folder on PYTHONPATH (bench only, never in the product):

    bench_stream.py --servers "uvicorn-sansio-asyncio,PYTHONPATH=$PWD/bench/loop_timer"

Every 2 s it writes `bench/results/loop-callbacks-PID.json` (or into
`LOOP_TIMER_DIR`): a histogram of all callback durations, and the callbacks of
300 µs or more grouped by task, where the task resumed and where it suspended
next (the deepest frame of this project, then the innermost frame). `bench/
loop_timer/report.py FILE` prints it. A callback's duration is wall time: it
includes waiting for the GIL (the database thread) or for a core inside it.
uvloop's callbacks are compiled and cannot be wrapped, hence the asyncio loop.
"""

import asyncio.events
import json
import os
import time
from pathlib import Path

_EDGES = [50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000]
_SLOW_US = 300
_ROOT = str(Path(__file__).resolve().parents[2]) + "/"
_OUT = Path(os.environ.get("LOOP_TIMER_DIR") or Path(_ROOT) / "bench" / "results") / f"loop-callbacks-{os.getpid()}.json"

_hist = [0] * (len(_EDGES) + 1)
_slow: dict[str, list] = {}
_last_dump = [time.monotonic()]


def _label(filename: str, frame) -> str:
    short = filename.rsplit("/site-packages/", 1)[-1].replace(_ROOT, "")
    return f"{short}:{frame.f_lineno}:{frame.f_code.co_name}"


def _where(coro) -> str | None:
    innermost = own = None
    for _ in range(30):
        if coro is None:
            break
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            filename = frame.f_code.co_filename
            innermost = _label(filename, frame)
            if filename.startswith(_ROOT) and "/.venv/" not in filename:
                own = innermost
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None) or getattr(coro, "ag_await", None)
    return f"{own} [{innermost}]" if own and own != innermost else innermost


def _dump() -> None:
    _OUT.parent.mkdir(parents=True, exist_ok=True)
    labels = [f"<{edge}" for edge in _EDGES] + [f">={_EDGES[-1]}"]
    rows = sorted(([key, *value] for key, value in _slow.items()), key=lambda row: -row[2])
    _OUT.write_text(json.dumps({"histogram_us": dict(zip(labels, _hist)), "slow": rows}, indent=1))


_original_run = asyncio.events.Handle._run


def _timed_run(self) -> None:
    task = getattr(self._callback, "__self__", None)
    coro = task.get_coro() if task is not None and hasattr(task, "get_coro") else None
    before = _where(coro) if coro is not None else None
    started = time.perf_counter()
    _original_run(self)
    took = (time.perf_counter() - started) * 1e6
    index = 0
    while index < len(_EDGES) and took >= _EDGES[index]:
        index += 1
    _hist[index] += 1
    if took >= _SLOW_US:
        if coro is not None:
            after = _where(coro) if getattr(coro, "cr_frame", None) is not None else "done"
            key = f"{getattr(coro, '__qualname__', '?')} | {before} -> {after}"
        else:
            key = getattr(self._callback, "__qualname__", repr(self._callback))[:200]
        entry = _slow.setdefault(key, [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += took
        entry[2] = max(entry[2], took)
    now = time.monotonic()
    if now - _last_dump[0] > 2:
        _last_dump[0] = now
        _dump()


asyncio.events.Handle._run = _timed_run
