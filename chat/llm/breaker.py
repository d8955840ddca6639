"""A per-key circuit breaker (key: the agency), in-process.

Closed until `failure_threshold` consecutive failures; then open for
`cooldown` seconds (callers skip the LLM and go offline at once); then
half-open: one trial call decides. Each web process keeps its own: an
upstream outage is seen by every process within a few calls anyway, and no
shared state has to be consulted on the streaming hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int = 3, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._states: dict[str, _State] = {}

    def state(self, key) -> str:
        s = self._states.get(str(key))
        if s is None or s.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - s.opened_at >= self.cooldown else "open"

    def allow(self, key) -> bool:
        s = self._states.setdefault(str(key), _State())
        state = self.state(key)
        if state == "closed":
            return True
        if state == "half_open" and not s.trial_running:
            s.trial_running = True
            return True
        return False

    def record_success(self, key) -> None:
        self._states[str(key)] = _State()

    def record_failure(self, key) -> None:
        s = self._states.setdefault(str(key), _State())
        s.trial_running = False
        s.failures += 1
        if s.failures >= self.failure_threshold or s.opened_at is not None:
            s.opened_at = self.clock()


default_breaker = CircuitBreaker()
