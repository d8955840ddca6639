"""project/ratelimit.py's sliding window: never more than the limit within any
window, also across what used to be a fixed window's boundary."""

from __future__ import annotations

import uuid

import pytest

from project import ratelimit


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0 + 59.98}  # a minute's boundary is 0.02 s away

    class FakeTime:
        @staticmethod
        def time():
            return now["t"]

    monkeypatch.setattr(ratelimit, "time", FakeTime)
    return now


def test_the_limit_holds_across_a_minute_boundary(clock):
    key = f"test:{uuid.uuid4()}"
    for step in range(5):  # 59.98, 59.99, 60.00, 60.01, 60.02
        assert ratelimit.window_hit(key, limit=5, window_seconds=60).allowed
        clock["t"] += 0.01
    assert ratelimit.window_count(key, window_seconds=60) == 5
    verdict = ratelimit.window_hit(key, limit=5, window_seconds=60)
    assert not verdict.allowed
    # The first two events are in the slice [50, 60): it stops counting at 120, ~60 s from now.
    assert 59 <= verdict.retry_after <= 61


def test_events_age_out_a_window_and_at_most_a_slice_later(clock):
    key = f"test:{uuid.uuid4()}"
    for _ in range(3):
        ratelimit.window_hit(key, limit=10, window_seconds=60)
    clock["t"] += 59
    assert ratelimit.window_count(key, window_seconds=60) == 3  # still within the minute
    clock["t"] += 11  # 70 s later: past the window and its slice
    assert ratelimit.window_count(key, window_seconds=60) == 0


def test_reset_forgets_the_whole_window(clock):
    key = f"test:{uuid.uuid4()}"
    for _ in range(4):
        ratelimit.window_hit(key, limit=10, window_seconds=60)
        clock["t"] += 15
    ratelimit.window_reset(key, window_seconds=60)
    assert ratelimit.window_count(key, window_seconds=60) == 0


async def test_the_bucket_lets_a_burst_through_then_refills_at_its_rate(clock, settings):
    # Without Redis (the embedded default) the bucket lives in the process; the
    # Redis script with the same arithmetic is driven by the lead socket's tests.
    settings.REDIS_URL = ""
    key = f"msg:{uuid.uuid4()}"
    verdicts = [await ratelimit.bucket_take(key, rate_per_second=1 / 3, burst=3) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after == 4  # a whole token is 3 s away; the lead is told a second past it
    clock["t"] += 3.0
    assert (await ratelimit.bucket_take(key, rate_per_second=1 / 3, burst=3)).allowed
    assert not (await ratelimit.bucket_take(key, rate_per_second=1 / 3, burst=3)).allowed
