"""bench_stream's closing summary: only phases the hypervisor left alone, on both sides of a ratio."""

from bench.bench_stream import phase_record, quiet_phases


def _phase(name, p95_lags, steal, relay_lags=None, relay_steal=None):
    result = {"lag_ms": p95_lags, "machine_cores": {"machine steal": steal, "web": 0.6}}
    baseline = None if relay_lags is None else {"lag_ms": relay_lags, "steal_cores": relay_steal}
    return phase_record(name, result, baseline)


def test_a_phase_counts_only_when_neither_it_nor_its_relay_run_was_starved():
    phases = [
        _phase("quiet", [2.0] * 100, 0.01, [1.0] * 100, 0.02),
        _phase("phase starved", [9.0] * 100, 0.40, [1.0] * 100, 0.00),
        _phase("relay starved", [2.0] * 100, 0.00, [40.0] * 100, 0.30),
        _phase("relay steal unknown", [2.0] * 100, 0.00, [1.0] * 100, None),
        _phase("no relay", [3.0] * 100, 0.03),
    ]
    lines = quiet_phases(phases, 0.05)
    assert lines[0].startswith("## phases with at most 0.05 of the cores stolen")
    assert lines[1:] == ["  quiet: p95 2.00 ms [relay 1.00] 2.00×", "  no relay: p95 3.00 ms", "  2 of 5 phases kept"]


def test_the_threshold_is_the_callers():
    phases = [_phase("a", [2.0] * 10, 0.30, [1.0] * 10, 0.20)]
    assert quiet_phases(phases, 0.05)[-1] == "  0 of 1 phases kept"
    assert quiet_phases(phases, 0.5)[1] == "  a: p95 2.00 ms [relay 1.00] 2.00×"
