"""Retry timing of the CRM sync and the webhooks: backoff, Retry-After, hops."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from integrations.retry import MAX_HOP_SECONDS, backoff_delay, next_hop
from project.celery import MAX_COUNTDOWN


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rng = random.Random(3)
    for attempt in range(1, 12):
        ceiling = min(100.0, 2.0 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, base=2, cap=100, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not a fixed schedule


def test_retry_after_is_a_floor_with_a_little_jitter():
    rng = random.Random(4)
    delays = [backoff_delay(1, base=1, cap=10, retry_after=42, rng=rng) for _ in range(100)]
    assert all(42 <= d <= 43 for d in delays)
    # A Retry-After shorter than the backoff does not shorten it.
    assert all(backoff_delay(6, base=2, cap=100, retry_after=1, rng=rng) >= 32 for _ in range(50))


def test_long_waits_are_reached_in_hops_below_the_visibility_timeout():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert MAX_HOP_SECONDS < MAX_COUNTDOWN
    assert next_hop(None, now=now) == 0
    assert next_hop(now - timedelta(seconds=5), now=now) == 0
    assert next_hop(now + timedelta(seconds=30), now=now) == 30
    assert next_hop(now + timedelta(hours=6), now=now) == MAX_HOP_SECONDS
