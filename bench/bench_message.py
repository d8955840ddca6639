"""The CPU of a lead message's database work, per call, against real MariaDB.

At 200 streaming conversations on one web process the streamed tokens wait
for the Python that stores each message (`lead_message_receive`, with the
qualification step it runs) and each finished reply (`turn_complete`): the
streaming benchmark's profile puts ~40 % of the process's GIL time there. This
drives exactly those two services, as the lead socket and the turn runner call
them (a new conversation per round: its opening reply stored, then the lead's
"Sí, acepto" to the consent question and a 120-word reply), and prints the
thread CPU time of each call (p50 / p95 / mean, µs) and its SQL statements.
Thread CPU time, not wall time: MariaDB's own work on the other core and a
busy machine change it little, so two trees can be compared run to run.

    .venv/bin/python bench/bench_message.py                 # 300 rounds
    .venv/bin/python bench/bench_message.py --profile       # plus cProfile's top entries per service (CPU clock)
    .venv/bin/python bench/bench_message.py --statements    # the CPU before and in each SQL statement
    .venv/bin/python bench/bench_message.py --garbage       # the reference cycles each call leaves to the collector

It starts a private MariaDB and Redis (`scripts/services.sh`) unless
`DATABASE_URL`/`REDIS_URL` are set (it then uses the database
`markezy_bench_message`).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.services import database_own, services_start, services_stop

ORIGIN = "https://bench.example"
PY = sys.executable


def _prepare() -> dict:
    database_own("markezy_bench_message")
    var = ROOT / "var" / "bench-message"
    var.mkdir(parents=True, exist_ok=True)
    os.environ.update({"MARKEZY_VAR_DIR": str(var), "WIDGET_SESSIONS_PER_IP_PER_HOUR": "1000000", "DEBUG": "0",
                       "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "project.settings"})
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    return json.loads(subprocess.run([PY, "manage.py", "seed_demo", "--json", "--origin", ORIGIN], cwd=ROOT,
                                     check=True, capture_output=True, text=True).stdout)


REPLY = ("Perfecto, gracias por aceptar. Para preparar una estrategia a la medida de tu negocio necesito conocerte "
         "un poco mejor: cuéntame a qué se dedica tu empresa, quiénes son tus clientes y qué canales usas hoy para "
         "atraerlos. ") * 3


def _garbage_free() -> None:
    """Free what the collector holds in gc.garbage (DEBUG_SAVEALL keeps it there): cleared, the
    cycles are garbage again, and a collection without SAVEALL frees them for good."""
    gc.collect()
    gc.set_debug(0)
    gc.garbage.clear()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)


def run(args, seed: dict) -> None:
    import django

    django.setup()
    from django.db import connection

    from chat import services
    from chat.visitor import visitor_token_verify

    calls = {"lead_message_receive": [], "turn_complete": []}
    statements = {name: [] for name in calls}
    per_statement: dict[tuple, list] = {}
    # Thread CPU time as the clock: time spent waiting for MariaDB is not what the other sockets wait for.
    profiles = ({name: cProfile.Profile(time.thread_time_ns, 1e-9) for name in calls} if args.profile else {})
    # Objects each call leaves in reference cycles: only the cyclic collector frees them, in pauses that
    # stop the event loop (the streaming benchmark's GC line). The collections around each call make the
    # CPU figures of such a run meaningless.
    garbage = {name: collections.Counter() for name in calls}
    if args.garbage:
        gc.set_debug(gc.DEBUG_SAVEALL)

    def timed(name, fn, **kwargs):
        profile = profiles.get(name)
        count = [0]
        mark = [time.thread_time_ns()]

        def counting(execute, sql, params, many, context):
            count[0] += 1
            if not args.statements:
                return execute(sql, params, many, context)
            # CPU since the previous statement (the ORM building this one), then the statement itself.
            before = time.thread_time_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                after = time.thread_time_ns()
                key = (name, count[0], " ".join(sql.split()[:4])[:60])
                per_statement.setdefault(key, []).append(((before - mark[0]) / 1000, (after - before) / 1000))
                mark[0] = after

        if args.garbage:
            _garbage_free()
        # A counter, not CaptureQueriesContext: the debug cursor's logging would be measured too.
        with connection.execute_wrapper(counting):
            start = mark[0] = time.thread_time_ns()
            if profile is not None:
                profile.enable()
            result = fn(**kwargs)
            if profile is not None:
                profile.disable()
            calls[name].append((time.thread_time_ns() - start) / 1000)
        statements[name].append(count[0])
        if args.garbage:
            gc.collect()
            garbage[name].update(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
            garbage[name]["(calls)"] += 1
            _garbage_free()
        return result

    def round_once():
        session = services.widget_session_open(key=seed["widget_key"], origin=ORIGIN, visitor_token=None,
                                               page_url=ORIGIN + "/", locale="es", ip="127.0.0.1")
        visitor = visitor_token_verify(session.visitor_token)
        services.conversation_claim_opening(visitor=visitor)
        services.turn_complete(agency_id=visitor.agency_id, conversation_id=visitor.conversation_id,
                               record=services.TurnRecord(turn_id=uuid.uuid4(), role="assistant",
                                                          text="¡Hola! ¿Aceptas nuestra política de privacidad?",
                                                          provider="openai"))
        timed("lead_message_receive", services.lead_message_receive, visitor=visitor, client_id=uuid.uuid4(),
              text="Sí, acepto")
        timed("turn_complete", services.turn_complete, agency_id=visitor.agency_id,
              conversation_id=visitor.conversation_id,
              record=services.TurnRecord(turn_id=uuid.uuid4(), role="assistant", text=REPLY, provider="openai",
                                         prompt_tokens=900, completion_tokens=120, first_token_ms=210,
                                         duration_ms=2000))

    for _ in range(args.warmup):
        round_once()
    for values in (*calls.values(), *statements.values(), per_statement, *garbage.values()):
        values.clear()
    for _ in range(args.rounds):
        round_once()

    print(f"# per-message database work — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.rounds} rounds after {args.warmup} warm-up")
    for name, values in calls.items():
        values = sorted(values)
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"  {name:22s} CPU µs p50 {statistics.median(values):7.0f}  p95 {p95:7.0f}  mean "
              f"{statistics.fmean(values):7.0f}   SQL statements {statistics.fmean(statements[name]):.1f}")
    total = sum(statistics.fmean(v) for v in calls.values())
    print(f"  both                   CPU µs mean {total:7.0f}")
    if per_statement:
        print("\n  per statement: mean CPU µs before it (building it) / in it (driver, result rows)")
        for (name, n, sql), values in per_statement.items():
            print(f"    {name:22s} #{n:<2d} {sql:60s} {statistics.fmean(v[0] for v in values):6.0f} / "
                  f"{statistics.fmean(v[1] for v in values):5.0f}")
    for name, counter in garbage.items():
        if not counter:
            continue
        rounds = counter.pop("(calls)")
        print(f"\n  {name}: {sum(counter.values()) / rounds:.1f} objects in reference cycles per call")
        for kind, count in counter.most_common(args.profile_top):
            print(f"    {count / rounds:6.1f}  {kind}")
    for name, profile in profiles.items():
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.profile_sort).print_stats(args.profile_top)
        print(f"\n## cProfile: {name}\n" + out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile each service, print the top entries")
    parser.add_argument("--profile-top", type=int, default=40)
    parser.add_argument("--profile-sort", default="cumulative", help="pstats order: cumulative, tottime, ncalls, ...")
    parser.add_argument("--statements", action="store_true",
                        help="per SQL statement, the CPU spent building it and in it")
    parser.add_argument("--garbage", action="store_true",
                        help="per service, the objects each call leaves in reference cycles (by type)")
    args = parser.parse_args()
    services_dir = services_start()
    try:
        run(args, _prepare())
    finally:
        services_stop(services_dir)


if __name__ == "__main__":
    main()
