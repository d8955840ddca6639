"""When in a streaming scenario the late tokens came: a table by time window.

    .venv/bin/python bench/bench_stream.py --streams 200 --no-burst --timeline
    .venv/bin/python bench/timeline.py bench/results/timeline-uvicorn-sansio-200-staggered-*.json [--window-ms 250]

Reads what `bench_stream.py --timeline` writes: every token's upstream write
time and added latency, the moment each lead sent its message and received
`turn.completed`, and the same run's relay tokens. Prints, per window of the
tokens' write times (from the first measured token), how many tokens the
upstream wrote, their p50/p95/max added latency and how many were over the
threshold, next to how many leads sent their message and how many replies
completed in that window; then the relay's windows. A single stall (a
collector pause, the loop descheduled) shows as one window whose max is
about the stall and whose late tokens are the stall times the token rate; a
process short of CPU shows as several windows late at once, at the moment
the most streams overlap.
"""

from __future__ import annotations

import argparse
import bisect
import json
from collections import defaultdict
from pathlib import Path


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def windows(tokens: list[list[float]], window_ms: float) -> tuple[float, dict[int, list[float]]]:
    """(the first token's write time in ms, window index -> the lags of the tokens written in it)."""
    start = min(write for write, _ in tokens) / 1000
    by_window: dict[int, list[float]] = defaultdict(list)
    for write, lag in tokens:
        by_window[int((write / 1000 - start) // window_ms)].append(lag)
    return start, by_window


def table(data: dict, *, window_ms: float = 250, late_ms: float = 5) -> list[str]:
    lines = []
    if not data.get("tokens"):
        return ["no tokens"]
    start, by_window = windows(data["tokens"], window_ms)
    sent = sorted(ns / 1e6 - start for ns in data.get("sent_ns", []))
    completed = sorted(ns / 1e6 - start for ns in data.get("completed_ns", []))
    lines.append(f"{'from ms':>8} {'tokens':>7} {'p50':>7} {'p95':>7} {'max':>7} {'>' + format(late_ms, 'g') + ' ms':>7}"
                 f" {'sends':>6} {'completes':>9}")
    for index in sorted(by_window):
        lags, low, high = by_window[index], index * window_ms, (index + 1) * window_ms
        sends = bisect.bisect_left(sent, high) - bisect.bisect_left(sent, low)
        completes = bisect.bisect_left(completed, high) - bisect.bisect_left(completed, low)
        lines.append(f"{low:8.0f} {len(lags):7d} {_pct(lags, 50):7.2f} {_pct(lags, 95):7.2f} {max(lags):7.1f}"
                     f" {sum(lag > late_ms for lag in lags):7d} {sends:6d} {completes:9d}")
    relay = data.get("relay_tokens") or []
    if relay:
        lines.append("relay, same arrivals, its own run:")
        _, by_window = windows(relay, window_ms)
        for index in sorted(by_window):
            lags = by_window[index]
            lines.append(f"{index * window_ms:8.0f} {len(lags):7d} {_pct(lags, 50):7.2f} {_pct(lags, 95):7.2f}"
                         f" {max(lags):7.1f} {sum(lag > late_ms for lag in lags):7d}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--window-ms", type=float, default=250)
    parser.add_argument("--late-ms", type=float, default=5, help="count tokens later than this")
    args = parser.parse_args()
    for path in args.files:
        print(f"# {path}")
        print("\n".join(table(json.loads(path.read_text()), window_ms=args.window_ms, late_ms=args.late_ms)))


if __name__ == "__main__":
    main()
