"""Retry timing shared by the CRM sync and the webhook deliveries: pure functions."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from project.celery import MAX_COUNTDOWN

# A countdown must stay below the broker's visibility timeout (project.celery):
# longer waits are reached in several hops, each task checking its `due_at`.
MAX_HOP_SECONDS = MAX_COUNTDOWN - 1


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` ≥ 1 failed so far).

    Exponential with "equal jitter" (half fixed, half random) so a burst of
    failures does not come back as a burst. A server's ``Retry-After`` is a
    floor, never shortened, with a little jitter on top so throttled callers spread out.
    """
    draw = (rng or random).random
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = ceiling / 2 + draw() * ceiling / 2
    if retry_after is not None and retry_after > delay:
        delay = retry_after + draw() * min(1.0, retry_after * 0.1)
    return max(delay, 0.0)


def next_hop(due_at: datetime | None, *, now: datetime) -> float:
    """Seconds a task woken at ``now`` must still wait for ``due_at`` (0: run now), capped to one hop."""
    if due_at is None:
        return 0.0
    remaining = (due_at - now).total_seconds()
    if remaining <= 0.5:  # timers are not exact; half a second early is on time
        return 0.0
    return min(remaining, MAX_HOP_SECONDS)


def due(now: datetime, delay: float) -> datetime:
    return now + timedelta(seconds=delay)
