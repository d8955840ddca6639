"""The bench's own garbage collector while it measures (bench_stream.py)."""

from __future__ import annotations

import gc
import time


class ClientCollector:
    """The bench's own garbage collector during a measurement.

    The leads, the monitor and the relay's clients all run on this process's
    one event loop, so a collection here stops every receipt at once and
    shows up as added latency of whatever is being measured. With many
    tracked objects per token (the monitor's receipt table, the timeline's
    samples) its full collections took tens of ms in the middle of a
    scenario (2026-12-04, "the bench's own collector"). So by default the
    collector is off while a scenario or a relay run measures (a few MB
    more for its duration) and runs between them; `--client-gc` leaves it on.
    Either way the pauses it took are counted."""

    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> "ClientCollector":
        gc.collect()  # before the callback: this one is not the measurement's
        gc.callbacks.append(self._callback)
        if not self.enabled:
            gc.disable()
        return self

    def __exit__(self, *exc) -> None:
        # In this order: the first allocation after enable() collects what the
        # measurement allocated, which is not a pause of the measurement.
        gc.callbacks.remove(self._callback)
        gc.enable()

    def summary(self) -> dict:
        return {"count": len(self.pauses), "total_ms": sum(self.pauses), "max_ms": max(self.pauses, default=0.0),
                "enabled": self.enabled}
