"""bench_stream --pin: the web process and the relay on CPUs of their own, the rest elsewhere."""

import argparse
import os
import sys

import pytest

from bench.bench_stream import pin_parse, spawn

CPUS = sorted(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="pinning apart needs two CPUs")


@needs_two
def test_two_disjoint_sets_of_this_machines_cpus():
    assert pin_parse(f"{CPUS[1]}:{CPUS[0]}") == ({CPUS[1]}, {CPUS[0]})


@pytest.mark.parametrize("value", ["1", "a:0", "1:", ":0", "0:0", "0,1:1", "0:4096"])
def test_anything_else_is_refused_with_what_it_takes(value):
    with pytest.raises(argparse.ArgumentTypeError, match="--pin"):
        pin_parse(value)


@needs_two
def test_a_spawned_process_runs_on_the_cpus_it_was_given():
    # spawn() reads the child's first line (a server prints its URL there): here, its affinity.
    proc, line = spawn([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                       cpus={CPUS[1]})
    proc.wait(10)
    assert line == str([CPUS[1]])
    proc, line = spawn([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"])
    proc.wait(10)
    assert line == str(CPUS)
