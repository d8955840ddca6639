"""bench/timeline.py: the windows it prints are the tokens written in them."""

from bench.timeline import table, windows


def _tokens(start_us: int, lags_ms: list[float], step_us: int = 10_000) -> list[list[float]]:
    return [[start_us + i * step_us, lag] for i, lag in enumerate(lags_ms)]


def test_tokens_fall_into_the_window_of_their_write_time():
    # 50 tokens 10 ms apart: five windows of 100 ms, ten tokens each.
    start, by_window = windows(_tokens(1_000_000_000, [1.0] * 50), window_ms=100)
    assert start == 1_000_000
    assert sorted(by_window) == [0, 1, 2, 3, 4]
    assert all(len(lags) == 10 for lags in by_window.values())


def test_a_stall_shows_in_its_own_window_with_its_sends_and_completions():
    lags = [0.5] * 20 + [12.0, 9.0, 6.0] + [0.5] * 7  # a ~12 ms stall in the third window
    start_us = 2_000_000_000
    data = {
        "tokens": _tokens(start_us, lags),
        "sent_ns": [(start_us + 5_000) * 1000, (start_us + 215_000) * 1000],
        "completed_ns": [(start_us + 295_000) * 1000],
        "relay_tokens": _tokens(start_us, [0.4] * 30),
    }
    lines = table(data, window_ms=100, late_ms=5)
    header, first, second, third = lines[:4]
    assert header.split()[:2] == ["from", "ms"]
    assert first.split() == ["0", "10", "0.50", "0.50", "0.5", "0", "1", "0"]
    assert second.split()[-3:] == ["0", "0", "0"]
    # The third window: 10 tokens, the stall's three late ones, max 12 ms, one send and one completion.
    assert third.split() == ["200", "10", "0.50", "12.00", "12.0", "3", "1", "1"]
    assert lines[4] == "relay, same arrivals, its own run:"
    assert [line.split()[1] for line in lines[5:]] == ["10", "10", "10"]


def test_no_tokens():
    assert table({"tokens": []}) == ["no tokens"]
