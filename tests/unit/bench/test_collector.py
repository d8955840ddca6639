"""bench/collector.py: the bench's clients measure without their own collector's pauses."""

import gc

from bench.collector import ClientCollector


def _cycles(n: int) -> list:
    out = []
    for _ in range(n):
        node: list = []
        node.append(node)
        out.append(node)
    return out


def test_off_while_measuring_no_pause_lands_in_the_measurement_and_it_is_back_on_after():
    assert gc.isenabled()
    with ClientCollector(enabled=False) as collector:
        assert not gc.isenabled()
        kept = _cycles(50_000)  # far past the young threshold
    assert gc.isenabled()
    assert collector.summary() == {"count": 0, "total_ms": 0, "max_ms": 0.0, "enabled": False}
    del kept


def test_left_on_its_pauses_are_counted():
    with ClientCollector(enabled=True) as collector:
        assert gc.isenabled()
        kept = _cycles(50_000)
    summary = collector.summary()
    assert summary["count"] > 0 and summary["max_ms"] > 0 and summary["enabled"]
    del kept
