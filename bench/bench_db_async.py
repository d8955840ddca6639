"""The event loop's CPU per database call: `project.db.aio.db_async` against
Channels' `database_sync_to_async` (asgiref's SyncToAsync) on the same
executor.

A streamed turn makes three such calls on the loop that also relays every
token (the LLM-extraction context, the lead's message, the finished reply),
so what the hand-off itself costs the loop is paid by the tokens streaming at
that moment. The call here does nothing (no database): what is measured is
the hand-off only: the loop thread's CPU time per call (CLOCK_THREAD_CPUTIME_ID),
the whole process's (both threads), and the wall time, on uvloop as the web
process runs, the two alternating round by round.

    .venv/bin/python bench/bench_db_async.py              # 5 rounds of 5,000 calls each
    .venv/bin/python bench/bench_db_async.py --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")


def _nothing(value=None):
    return value


def _thread_cpu() -> float:
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)


async def _measure(calls: int, rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    from channels.db import DatabaseSyncToAsync

    from project.db.aio import db_async, db_executor

    ways = {
        "db_async (project/db/aio.py)": db_async(_nothing),
        "Channels' DatabaseSyncToAsync, same executor": DatabaseSyncToAsync(
            _nothing, thread_sensitive=False, executor=db_executor()),
    }
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ways}
    for name, call in ways.items():  # warm-up: imports, the executor's threads, the connection handler
        for _ in range(500):
            await call(1)
    for _ in range(rounds):
        for name, call in ways.items():
            cpu0, process0, wall0 = _thread_cpu(), time.process_time(), time.perf_counter()
            for _ in range(calls):
                await call(1)
            figures[name].append((1e6 * (_thread_cpu() - cpu0) / calls, 1e6 * (time.process_time() - process0) / calls,
                                  1e6 * (time.perf_counter() - wall0) / calls))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    import django

    django.setup()
    if args.loop == "uvloop":
        import uvloop

        figures = uvloop.run(_measure(args.calls, args.rounds))
    else:
        figures = asyncio.run(_measure(args.calls, args.rounds))
    print(f"# database hand-off, {args.rounds} rounds of {args.calls} calls on {args.loop}, {time.strftime('%Y-%m-%d %H:%M')}")
    for name, rows in figures.items():
        cpu, process, wall = ([r[i] for r in rows] for i in range(3))
        print(f"{name:46s} µs per call, median of the rounds: the loop's CPU {statistics.median(cpu):5.1f} "
              f"({min(cpu):.1f}–{max(cpu):.1f}), the process's CPU {statistics.median(process):5.1f}, "
              f"wall {statistics.median(wall):5.1f}")


if __name__ == "__main__":
    main()
