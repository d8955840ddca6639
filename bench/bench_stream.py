"""The streaming benchmark of issue 13.

Starts (unless given) a private MariaDB and Redis, the stamping upstream at 60
tok/s with 120-token replies, one Markezy web process (uvicorn, the image's default, then daphne) using it as its
OpenAI endpoint, and the plain websockets relay as the baseline. Then, for
each concurrency level, N leads open widget sessions and sockets at once,
each streams its assistant reply, and (optionally) one staff monitor watches
every conversation (in a client process of its own, as a staff member's
browser is not the leads': `--monitor-client inline` puts it on the leads'
event loop, where its frames delay their receipts). It prints, per scenario:

- added latency per token (upstream write → the server's write of the frame,
  dated at the wire by bench/capture.py; as the clients read them with
  --no-wire or without CAP_NET_RAW, and beside it either way): p50/p95/p99,
  for Markezy and for the baseline relay measured in the same run, and the ratio;
- added time to first token over the upstream's own;
- gaps and duplicates seen by the lead (offset checks) and by the monitor;
- the monitor's lag behind the lead for the same delta (p50/p95/max);
- the web process's CPU time and peak RSS; the memory of an idle lead socket.

    .venv/bin/python bench/bench_stream.py                 # 50 and 200 streams, with and without a monitor
    .venv/bin/python bench/bench_stream.py --streams 50    # one level
"""

from __future__ import annotations

import argparse
import atexit
import asyncio
import bisect
import random
import re
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.capture import WireCapture, wire_lags
from bench.collector import ClientCollector
from bench.services import database_own, services_start, services_stop
from project.serve import command as serve_command  # noqa: E402  (the image's command line)

ORIGIN = "http://bench.markezy.test"
# Every client offers permessage-deflate, as browsers always do: what a server
# accepts there (a zlib state per socket, a compression per frame) is part of
# what it costs. Markezy's servers and the relay decline it.
OFFER = "deflate"
PY = sys.executable


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def pin_parse(value: str) -> tuple[set[int], set[int]]:
    """`--pin WEB:REST`: two disjoint, non-empty sets of this machine's CPUs ("1:0", "2,3:0,1")."""
    try:
        web, rest = ({int(cpu) for cpu in part.split(",")} for part in value.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--pin takes WEB:REST, CPU lists like 1:0, got {value!r}") from None
    available = os.sched_getaffinity(0)
    if not web or not rest or web & rest or not (web | rest) <= available:
        raise argparse.ArgumentTypeError(f"--pin needs two disjoint sets of the CPUs {sorted(available)}, got {value!r}")
    return web, rest


def pin_self(cpus: set[int] | None) -> None:
    """This process, every thread of it, and so whatever it starts from now on, on `cpus`."""
    if cpus:
        for tid in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(tid), cpus)


def _on_cpus(cpus: set[int] | None):
    # Applied in the child between fork and exec: the server's threads, started later, inherit it.
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def spawn(args: list[str], env: dict | None = None, cwd: Path = ROOT,
          cpus: set[int] | None = None) -> tuple[subprocess.Popen, str]:
    """Start a process that prints its URL on the first line."""
    proc = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, preexec_fn=_on_cpus(cpus))
    line = proc.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"{args} did not start")
    return proc, line


@dataclass
class Stream:
    first_token_ms: float | None = None
    gaps: int = 0
    duplicates: int = 0
    text: str = ""
    completed: str | None = None
    recv_at: dict[int, float] = field(default_factory=dict)  # offset -> receipt time
    turn: str | None = None
    samples: list[tuple[int, float]] = field(default_factory=list)  # per token: (upstream write µs, added lag ms)
    sent_ns: int | None = None
    completed_ns: int | None = None

    @property
    def lags_ms(self) -> list[float]:
        return [lag for _, lag in self.samples]

    def add(self, offset: int, text: str, now_ns: int) -> None:
        if offset < len(self.text):
            self.duplicates += 1
            return
        if offset > len(self.text):
            self.gaps += 1
        self.text = self.text[:offset] + text
        self.recv_at[offset] = now_ns
        for word in text.split():
            if word.isdigit():
                written_us = int(word)
                self.samples.append((written_us, (now_ns / 1000 - written_us) / 1000))


async def monitor_client_run(url: str, token: str, conversations: list[str], on_ready, stop: asyncio.Event) -> dict:
    """One staff monitor subscribed to every conversation: when it received
    the end of each turn's text so far (for the monitor's lag), and its gaps
    and duplicates. Runs until `stop` is set."""
    streams: dict[tuple[str, str, int], int] = {}
    stats = {"gaps": 0, "duplicates": 0}
    texts: dict[tuple[str, str], str] = {}
    ws = await websockets.connect(url, max_size=2**24, max_queue=None, compression=OFFER)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    for conversation in conversations:
        await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
    # A subscription is live once its replay is sent, which the presence frame that
    # follows it tells (every subscribe announces the watcher). Measuring before all
    # were live counted a late subscription's catch-up as the lag of live delivery.
    subscribing = set(conversations)

    async def read() -> None:
        try:
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                if frame.get("type") == "presence" and subscribing:
                    subscribing.discard(frame.get("conversation"))
                    if not subscribing:
                        on_ready()
                if frame.get("type") != "turn.delta":
                    continue
                conv = frame["conversation"]
                key = (conv, frame["turn"])
                have = texts.get(key, "")
                if frame["offset"] > len(have):
                    stats["gaps"] += 1
                elif frame["offset"] + len(frame["text"]) <= len(have):
                    stats["duplicates"] += 1
                    continue
                texts[key] = have[: frame["offset"]] + frame["text"]
                streams[(conv, frame["turn"], frame["offset"] + len(frame["text"]))] = now
        except websockets.ConnectionClosed:
            pass

    reader = asyncio.create_task(read())
    await stop.wait()
    reader.cancel()
    await ws.close()
    return {"streams": [(*key, t) for key, t in streams.items()], **stats}


def monitor_client_process(url: str, token: str, conversations: list[str], conn) -> None:
    """monitor_client_run in a process of its own, told to stop through `conn`,
    which then carries its figures back."""
    gc.disable()  # as the leads' clients while they measure (bench/collector.py); it lives for one scenario

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        waiting = loop.run_in_executor(None, conn.recv)
        waiting.add_done_callback(lambda _: stop.set())
        result = await monitor_client_run(url, token, conversations, lambda: conn.send("ready"), stop)
        conn.send({**result, "cpu_s": time.process_time()})

    asyncio.run(main())


async def run_service_leads(base: str, ws_base: str, key: str, n: int, monitor_token: str | None,
                            spread_s: float = 0.0, monitor_ws_base: str | None = None, on_measure=None,
                            lead_ws_bases: list[str] | None = None, monitor_client: str = "process",
                            think_s: float = 0.0) -> dict:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as client:
        sessions = await asyncio.gather(*(
            client.post(base + "/api/v1/widget/sessions", json={"key": key}, headers={"Origin": ORIGIN}) for _ in range(n)
        ))
    sessions = [s.json() for s in sessions]
    monitor_task = None
    monitor_ready = asyncio.Event()

    monitor_proc = None
    monitor_conn = None
    monitor_url = (monitor_ws_base or ws_base) + "/ws/v1/monitor"
    conversations = [s["conversation"] for s in sessions]
    if monitor_token and monitor_client == "inline":
        stop = asyncio.Event()
        monitor_task = asyncio.create_task(monitor_client_run(monitor_url, monitor_token, conversations,
                                                              monitor_ready.set, stop))
        await asyncio.wait_for(monitor_ready.wait(), 60)
        await asyncio.sleep(1)
    elif monitor_token:
        # A staff member's browser is not the leads' one: on this process's loop, each
        # 40-ms window's burst of ~150 monitor frames delayed every lead's receipts too.
        ctx = multiprocessing.get_context("spawn")
        monitor_conn, child = ctx.Pipe()
        monitor_proc = ctx.Process(target=monitor_client_process, args=(monitor_url, monitor_token, conversations, child),
                                   daemon=True)
        monitor_proc.start()
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, monitor_conn.poll, 60):
            raise RuntimeError("the monitor client's subscriptions did not all go live within 60 s")
        assert monitor_conn.recv() == "ready"
        await asyncio.sleep(1)

    streams: dict[str, Stream] = {}
    rng = random.Random(n)
    connected = 0
    all_connected = asyncio.Event()

    async def lead(session: dict) -> None:
        """Connect and let the opening reply finish; then, with every lead
        connected, send a message and measure the streamed answer."""
        nonlocal connected
        stream = streams[session["conversation"]] = Stream()
        # With several web processes, leads are spread over them in turn (as a balancer would).
        own = lead_ws_bases[sessions.index(session) % len(lead_ws_bases)] if lead_ws_bases else ws_base
        ws = await websockets.connect(own + "/ws/v1/chat", origin=ORIGIN, max_queue=None, compression=OFFER)
        await ws.send(json.dumps({"type": "auth", "token": session["visitor_token"]}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "turn.completed" and frame.get("role") == "assistant":
                break
        connected += 1
        if connected == len(sessions):
            if on_measure is not None:
                on_measure()
            all_connected.set()
        await all_connected.wait()
        if think_s:
            # A lead reads the opening and types: longer than a client's idle keep-alive, the
            # service's upstream connections are gone by then unless it keeps them (--think).
            await asyncio.sleep(think_s)
        if spread_s:
            # Leads do not all type at the same instant: arrivals spread over one reply's length.
            await asyncio.sleep(rng.uniform(0, spread_s))
        sent = stream.sent_ns = time.time_ns()
        await ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "Sí, acepto"}))
        turn = None
        async for raw in ws:
            now = time.time_ns()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "turn.started":
                turn = stream.turn = frame["turn"]
            elif kind == "turn.delta" and frame["turn"] == turn:
                if stream.first_token_ms is None:
                    stream.first_token_ms = (now - sent) / 1e6
                    stream.text = frame["text"]  # the first token is reported as time to first token
                    stream.recv_at[0] = now
                    continue
                stream.add(frame["offset"], frame["text"], now)
            elif kind == "turn.completed" and frame.get("turn") == turn:
                stream.completed = frame["text"]
                stream.completed_ns = now
                break
        await ws.close()

    closed = 0

    async def lead_or_count(session: dict) -> None:
        # A socket the server drops is a failure to report, not a reason to lose the run.
        nonlocal closed, connected
        try:
            await lead(session)
        except websockets.ConnectionClosed:
            closed += 1
            if not all_connected.is_set():
                connected += 1
                if connected == len(sessions):
                    if on_measure is not None:
                        on_measure()
                    all_connected.set()

    started = time.monotonic()
    await asyncio.gather(*(lead_or_count(s) for s in sessions))
    elapsed = time.monotonic() - started
    monitor_result = {"streams": [], "gaps": 0, "duplicates": 0}
    if monitor_task:
        await asyncio.sleep(0.5)
        stop.set()
        monitor_result = await monitor_task
    elif monitor_proc is not None:
        await asyncio.sleep(0.5)
        monitor_conn.send("stop")
        monitor_result = await asyncio.get_running_loop().run_in_executor(None, monitor_conn.recv)
        monitor_proc.join(10)
    monitor_streams = {(conv, turn, end): t for conv, turn, end, t in monitor_result["streams"]}
    lags = [lag for s in streams.values() for lag in s.lags_ms]
    monitor_lag = []
    by_conv: dict[str, list[tuple[int, int]]] = {}
    for (conv, turn, end), t in monitor_streams.items():
        by_conv.setdefault((conv, turn), []).append((end, t))
    for conv, s in streams.items():
        ends = sorted(by_conv.get((conv, s.turn), []))
        if not ends:
            continue
        keys = [e for e, _ in ends]
        # Earliest monitor receipt among frames that cover each lead offset.
        suffix_min = [0] * len(ends)
        running = None
        for i in range(len(ends) - 1, -1, -1):
            running = ends[i][1] if running is None else min(running, ends[i][1])
            suffix_min[i] = running
        for offset, t in s.recv_at.items():
            i = bisect.bisect_right(keys, offset)
            if i < len(ends):
                monitor_lag.append((suffix_min[i] - t) / 1e6)
    return {
        "streams": n,
        "elapsed_s": elapsed,
        "lag_ms": lags,
        "ttft_ms": [s.first_token_ms for s in streams.values() if s.first_token_ms is not None],
        "gaps": sum(s.gaps for s in streams.values()),
        "duplicates": sum(s.duplicates for s in streams.values()),
        "mismatched": sum(1 for s in streams.values() if s.completed is None or s.completed != s.text),
        "closed": closed,
        "monitor_lag_ms": monitor_lag,
        "monitor_gaps": monitor_result["gaps"],
        "monitor_duplicates": monitor_result["duplicates"],
        "monitor_client": monitor_client if monitor_token else None,
        "monitor_client_cpu_s": monitor_result.get("cpu_s"),
        # --timeline: every token's (upstream write µs, lag ms), and each lead's send and turn.completed.
        "timeline": {"tokens": [t for s in streams.values() for t in s.samples],
                     "sent_ns": [s.sent_ns for s in streams.values() if s.sent_ns],
                     "completed_ns": [s.completed_ns for s in streams.values() if s.completed_ns]},
    }


async def run_baseline(ws_url: str, n: int, spread_s: float = 0.0) -> dict:
    """The relay's figures for n streams arriving as the leads of a scenario
    do: all at once (spread 0) or each at a random moment within `spread_s`,
    from the same seed as the leads (random.Random(n)), so that both sides
    of a ratio see the same arrivals. (Until 2026-12-04 the relay was always
    measured all at once, its 200 streams ticking in step, 200 tokens every
    1/60 s, and the staggered scenarios were compared with that.)"""
    streams = [Stream() for _ in range(n)]
    rng = random.Random(n)
    connected = 0
    all_connected = asyncio.Event()

    async def one(stream: Stream) -> None:
        nonlocal connected
        async with websockets.connect(ws_url, max_queue=None, compression=OFFER) as ws:
            connected += 1
            if connected == n:
                all_connected.set()
            await all_connected.wait()
            if spread_s:
                await asyncio.sleep(rng.uniform(0, spread_s))
            sent = time.time_ns()
            await ws.send("go")
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                if frame["type"] == "turn.completed":
                    stream.completed = stream.text
                    break
                if stream.first_token_ms is None:
                    stream.first_token_ms = (now - sent) / 1e6
                    stream.text = frame["text"]
                    continue
                stream.add(frame["offset"], frame["text"], now)

    await asyncio.gather(*(one(s) for s in streams))
    return {"lag_ms": [lag for s in streams for lag in s.lags_ms],
            "timeline": {"tokens": [t for s in streams for t in s.samples]},
            "ttft_ms": [s.first_token_ms for s in streams if s.first_token_ms is not None],
            "gaps": sum(s.gaps for s in streams), "duplicates": sum(s.duplicates for s in streams)}


async def _idle_sockets_growth(base: str, ws_base: str, key: str, proc: psutil.Process, n: int) -> float:
    """RSS growth per socket over n lead sockets, each authenticated and past
    its opening reply (then idle); they are closed afterwards."""
    async with httpx.AsyncClient(timeout=30) as client:
        sessions = [
            (await client.post(base + "/api/v1/widget/sessions", json={"key": key}, headers={"Origin": ORIGIN})).json()
            for _ in range(n)
        ]
    before = proc.memory_info().rss
    sockets = []
    for s in sessions:
        ws = await websockets.connect(ws_base + "/ws/v1/chat", origin=ORIGIN, max_queue=None, compression=OFFER)
        await ws.send(json.dumps({"type": "auth", "token": s["visitor_token"]}))
        sockets.append(ws)
    for ws in sockets:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "turn.completed":
                break
    await asyncio.sleep(2)
    growth = (proc.memory_info().rss - before) / n
    for ws in sockets:
        await ws.close()
    await asyncio.sleep(2)
    return growth


async def idle_socket_bytes(base: str, ws_base: str, key: str, proc: psutil.Process, n: int = 200) -> tuple[float, float]:
    """RSS growth per idle lead socket: (first, held).

    `first`: n sockets opened on the process as it is. Their openings (a
    session, a conversation and its first reply each) grow the heap, and what
    the allocator keeps from that shows up as RSS whether or not anything is
    still held; after heavier scenarios the heap already has room, so this
    figure depends on what ran before (0.6 KB after 200 streams, ~50 KB after
    50 only). `held`: the same after another n were opened and closed, so that
    the openings' transient memory is already there: what an idle socket keeps."""
    first = await _idle_sockets_growth(base, ws_base, key, proc, n)
    held = await _idle_sockets_growth(base, ws_base, key, proc, n)
    return first, held


def machine_cpu(web_pids: list[int]) -> dict[str, float]:
    """CPU seconds so far by role, for every process on the machine, and the
    machine's busy time: which parts of the run compete for the two cores
    (the web role, its database and Redis, the upstream, this bench's own
    clients, anything else)."""
    roles: dict[str, float] = {}
    web = set(web_pids)
    for pid in web_pids:
        try:
            web.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.pid in web:
            role = "web"
        elif proc.pid == os.getpid():
            role = "bench clients"
        elif proc.info["name"] in ("mariadbd", "mysqld"):
            role = "mariadb"
        elif proc.info["name"] == "redis-server":
            role = "redis"
        elif "bench/upstream.py" in cmdline:
            role = "upstream"
        elif "bench/relay_baseline.py" in cmdline:
            role = "relay"
        else:
            role = "other"
        roles[role] = roles.get(role, 0.0) + times.user + times.system
    total = psutil.cpu_times()
    roles["machine busy"] = sum(total) - total.idle - getattr(total, "iowait", 0.0) - getattr(total, "steal", 0.0)
    # Time the hypervisor gave this machine's virtual CPUs to someone else: noise no code here causes.
    roles["machine steal"] = getattr(total, "steal", 0.0)
    roles["at"] = time.monotonic()
    return roles


def run_queue_wait(pids: list[int]) -> dict[str, float]:
    """Seconds so far that the processes' threads were runnable but waited
    for a core (/proc/PID/task/TID/schedstat, second field), for the main
    threads and for all threads: a loop that waits here waits for the
    scheduler, not for the GIL or for work."""
    main = every = main_ran = 0.0
    threads: dict[str, tuple[float, float]] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                # Fields: ns on a core, ns runnable but waiting for one, timeslices.
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ran, waited = (int(field) / 1e9 for field in f.read().split()[:2])
            except (FileNotFoundError, ValueError):
                continue
            every += waited
            if tid == str(pid):
                main += waited
                main_ran += ran
            else:
                threads[f"{pid}/{tid}"] = (ran, waited)
    return {"main": main, "main_ran": main_ran, "all": every, "threads": threads}


def service_counts(upstream_url: str) -> dict[str, int]:
    """SQL statements MariaDB answered, Redis commands by name, and the
    upstream's requests and connections, so far: the per-turn cost of the
    measured phase, which no load on the machine changes."""
    import MySQLdb
    import redis
    from urllib.parse import urlparse

    u = urlparse(os.environ["DATABASE_URL"])
    conn = MySQLdb.connect(host=u.hostname, port=u.port, user=u.username, passwd=u.password)
    try:
        cur = conn.cursor()
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select', 'Com_insert', 'Com_update', "
                    "'Com_commit', 'Com_admin_commands')")
        counts = {f"sql:{k}": int(v) for k, v in cur.fetchall()}
    finally:
        conn.close()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for name, stats in client.info("commandstats").items():
        counts[f"redis:{name.removeprefix('cmdstat_')}"] = int(stats["calls"])
    client.close()
    # The upstream's requests and the connections they came on (bench/upstream.py).
    for name, value in httpx.get(upstream_url + "/_stats", verify=False, timeout=10).json().items():
        counts[f"upstream:{name}"] = int(value)
    # Our own two reads above count once each; the bench subtracts nothing else.
    return counts


def reset_llm_quota() -> None:
    """Forget today's LLM token counts (chat/llm/quota.py): a day of benchmark
    runs (~130 k tokens per 200-conversation scenario) passes the demo agency's
    2 M daily quota, and from then on the assistant answers offline, in one
    short delta, and the figures measure nothing."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        keys = list(client.scan_iter("mkz:llm-tokens:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def gc_pauses(bases: list[str]) -> dict[str, float]:
    """The web processes' garbage-collector pause histograms (markezy_gc_pause_seconds,
    all generations, summed): count, total seconds, and how many took over 10 and 50 ms;
    and per generation, the count and total seconds (`count_<g>`, `sum_<g>`)."""
    text = "\n".join(httpx.get(base + "/metrics", timeout=10).text for base in bases)
    out = {"count": 0.0, "sum": 0.0, "le_0.01": 0.0, "le_0.05": 0.0}
    for generation in range(3):
        out[f"count_{generation}"] = out[f"sum_{generation}"] = 0.0
    for line in text.splitlines():
        if not line.startswith("markezy_gc_pause_seconds"):
            continue
        name, _, value = line.rpartition(" ")
        generation = re.search(r'generation="(\d)"', name)
        if name.startswith("markezy_gc_pause_seconds_count"):
            out["count"] += float(value)
            if generation:
                out[f"count_{generation.group(1)}"] += float(value)
        elif name.startswith("markezy_gc_pause_seconds_sum"):
            out["sum"] += float(value)
            if generation:
                out[f"sum_{generation.group(1)}"] += float(value)
        elif 'le="0.01"' in name:
            out["le_0.01"] += float(value)
        elif 'le="0.05"' in name:
            out["le_0.05"] += float(value)
    return out


def start_perf_stat(pid: int, results_dir: Path):
    out = results_dir / f"perf-stat-{pid}-{time.time_ns()}.txt"
    return subprocess.Popen(["perf", "stat", "-x", ",", "-o", str(out), "-e", "raw_syscalls:sys_enter,context-switches",
                             "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def stop_perf_stat(perf: subprocess.Popen, out: Path) -> dict[str, int]:
    perf.send_signal(2)
    perf.wait(10)
    counts = {}
    for line in out.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].strip().isdigit():
            counts[parts[2]] = int(parts[0])
    return counts


def ratio(p95: float, relay_p95: float) -> float:
    """The target's ratio: this service's added p95 over the same run's relay's."""
    return p95 / max(relay_p95, 1e-9)


def _lags(result: dict, baseline: dict | None) -> tuple[list[float], list[float], bool]:
    """The per-token added latencies of a phase and of its relay's run: at the
    wire when both were captured (bench/capture.py), else as the clients read them."""
    if result.get("wire_lag_ms") is not None and (baseline is None or baseline.get("wire_lag_ms") is not None):
        return result["wire_lag_ms"], (baseline or {}).get("wire_lag_ms", []), True
    return result["lag_ms"], (baseline or {}).get("lag_ms", []), False


def phase_record(name: str, result: dict, baseline: dict | None) -> dict:
    """What the closing summary needs of one measured phase."""
    lag, base_lag, _ = _lags(result, baseline)
    return {"name": name, "p95": pct(lag, 95), "relay_p95": pct(base_lag, 95) if base_lag else None,
            "steal": result.get("machine_cores", {}).get("machine steal"),
            "relay_steal": (baseline or {}).get("steal_cores")}


def quiet_phases(phases: list[dict], max_steal: float) -> list[str]:
    """The phases in which the hypervisor took at most `max_steal` of the cores,
    both in the phase and in its relay's run: on a shared host the others
    measure the neighbours as much as the service (bench/README.md,
    "Streaming, 2026-12-07"). Both sides are held to the same rule."""
    lines = [f"## phases with at most {max_steal:.2f} of the cores stolen, in the phase and in its relay's run"]
    kept = [p for p in phases if p["steal"] is not None and p["steal"] <= max_steal
            and (p["relay_p95"] is None or (p["relay_steal"] is not None and p["relay_steal"] <= max_steal))]
    for p in kept:
        relay = (f" [relay {p['relay_p95']:.2f}] {ratio(p['p95'], p['relay_p95']):.2f}×"
                 if p["relay_p95"] is not None else "")
        lines.append(f"  {p['name']}: p95 {p['p95']:.2f} ms{relay}")
    lines.append(f"  {len(kept)} of {len(phases)} phases kept")
    return lines


def summarise(name: str, result: dict, baseline: dict | None) -> list[str]:
    lag, base_lag, at_wire = _lags(result, baseline)
    read_lag, read_base_lag = result["lag_ms"], (baseline or {}).get("lag_ms", [])
    lines = [f"## {name}"]
    lines.append(f"  tokens measured: {len(lag)}  (baseline {len(base_lag)}); the first token of each reply is in TTFT"
                 + (f"; at the wire (the clients read {len(read_lag)} and {len(read_base_lag)})" if at_wire else ""))
    if base_lag and len(lag) < 0.9 * len(base_lag):
        lines.append("  WARNING: fewer tokens than the upstream streamed: replies did not come from it "
                     "(offline provider after an error or the daily quota?); these figures measure something else")
    if at_wire and (len(lag) != len(read_lag) or len(base_lag) != len(read_base_lag)):
        lines.append("  WARNING: the wire and the clients counted different numbers of tokens")
    dropped = result.get("wire_dropped", 0) + (baseline or {}).get("wire_dropped", 0)
    if dropped:
        lines.append(f"  WARNING: the packet capture dropped {dropped} packets")
    where = "at the wire" if at_wire else "as read"
    lines.append("  added latency per token (ms, {}) p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.1f}".format(
        where, pct(lag, 50), pct(lag, 95), pct(lag, 99), max(lag) if lag else float("nan")))
    if base_lag:
        lines.append("  baseline relay (ms, {})        p50 {:.2f}  p95 {:.2f}  p99 {:.2f}  max {:.1f}".format(
            where, pct(base_lag, 50), pct(base_lag, 95), pct(base_lag, 99), max(base_lag)))
        lines.append("  ratio p95 markezy/baseline    {:.2f}×".format(ratio(pct(lag, 95), pct(base_lag, 95))))
    if at_wire and read_lag and read_base_lag:
        # What the clients' loops saw: their own wait for the core they share with MariaDB,
        # Redis and the upstream included.
        lines.append("  as the clients read them (ms): markezy p50 {:.2f} p95 {:.2f}; relay p50 {:.2f} p95 {:.2f}"
                     " ({:.2f}×)".format(pct(read_lag, 50), pct(read_lag, 95), pct(read_base_lag, 50),
                                         pct(read_base_lag, 95), ratio(pct(read_lag, 95), pct(read_base_lag, 95))))
    gc_lines = []
    for who, r in (("leads", result), ("relay run", baseline or {})):
        c = r.get("client_gc")
        if c:
            gc_lines.append(f"{who} {c['count']} ({c['total_ms']:.0f} ms, max {c['max_ms']:.0f})")
    if gc_lines:
        state = "on" if result.get("client_gc", {}).get("enabled") else "off while measuring"
        lines.append(f"  bench clients' own collector ({state}): " + ", ".join(gc_lines))
    ttft, base_ttft = result["ttft_ms"], (baseline or {}).get("ttft_ms", [])
    if ttft:
        extra = f"  (baseline p50 {pct(base_ttft, 50):.0f} p95 {pct(base_ttft, 95):.0f})" if base_ttft else ""
        lines.append(f"  time to first token (ms, incl. upstream TTFT) p50 {pct(ttft, 50):.0f}  p95 {pct(ttft, 95):.0f}{extra}")
    lines.append(f"  lead: gaps {result['gaps']}  duplicates {result['duplicates']}  wrong final text {result['mismatched']}"
                 f"  sockets dropped by the server {result.get('closed', 0)}")
    if result.get("monitor_lag_ms"):
        m = result["monitor_lag_ms"]
        lines.append(f"  monitor lag behind lead (ms) p50 {pct(m, 50):.1f}  p95 {pct(m, 95):.1f}  max {max(m):.1f}"
                     f"  gaps {result['monitor_gaps']}  duplicates {result['monitor_duplicates']}"
                     + (f"  (its client: a process of its own, {result['monitor_client_cpu_s']:.1f} s of CPU)"
                        if result.get("monitor_client_cpu_s") is not None else
                        "  (its client: on the leads' event loop)" if result.get("monitor_client") == "inline" else ""))
    lines.append(f"  web process: CPU {result['cpu_s']:.1f} s over {result['elapsed_s']:.1f} s "
                 f"({result.get('cpu_measured_s', float('nan')):.1f} s in the measured phase, "
                 f"{result.get('cpu_measured_sys_s', float('nan')):.1f} s of it in the kernel"
                 + (f", {result['cpu_workers_measured_s']:.1f} s in its child processes"
                    if result.get("cpu_workers_measured_s") is not None else "")
                 + f"), RSS {result['rss_mb']:.0f} MB")
    cores = dict(result.get("machine_cores") or {})
    if cores:
        busy = cores.pop("machine busy", 0.0)
        steal = cores.pop("machine steal", 0.0)
        lines.append(f"  machine in the measured phase: {busy:.2f} of {psutil.cpu_count()} cores busy, {steal:.2f} stolen"
                     " by the hypervisor; by role "
                     + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1])))
    waits = result.get("run_queue_wait_s")
    if waits:
        lines.append(f"  web process waited for a core (runnable, not running) {1000 * waits['main']:.0f} ms on its"
                     f" event loop's thread (which ran {1000 * waits['main_ran']:.0f} ms), {1000 * waits['all']:.0f} ms on all its threads, in the measured phase"
                     + ("; its busiest other threads ran/waited " + ", ".join(
                         f"{1000 * r:.0f}/{1000 * q:.0f} ms" for r, q in result.get("run_queue_threads", []))))
    if result.get("client_wait_s") is not None:
        # The leads' receipt times are this process's: a bench client kept off its core by
        # the database or the upstream adds latency the service did not (the relay's run has
        # no database work beside it).
        lines.append(f"  bench's lead clients waited for a core {1000 * result['client_wait_s']:.0f} ms in the measured phase"
                     + (f" (the relay's clients {1000 * baseline['client_wait_s']:.0f} ms in its run)"
                        if baseline and baseline.get("client_wait_s") is not None else ""))
    g = result.get("gc")
    if g:
        lines.append(f"  web process(es) GC in the measured phase: {g['count']:.0f} pauses, {1000 * g['sum']:.0f} ms in all, "
                     f"{g['count'] - g['le_0.01']:.0f} over 10 ms, {g['count'] - g['le_0.05']:.0f} over 50 ms; by generation "
                     + ", ".join(f"{gen}: {g.get(f'count_{gen}', 0):.0f} ({1000 * g.get(f'sum_{gen}', 0):.0f} ms)"
                                 for gen in range(3)))
    # Figures a busy machine does not move much: cost per relayed token and per turn.
    tokens = len(lag) + len(ttft)
    turns = max(len(ttft), 1)
    if tokens and result.get("cpu_measured_s") is not None:
        lines.append(f"  measured phase: {1e6 * result['cpu_measured_s'] / tokens:.0f} µs of web-process CPU per relayed"
                     f" token ({tokens} tokens, {turns} turns, message handling included)")
    if baseline and baseline.get("cpu_s") is not None:
        base_tokens = len(base_lag) + len(baseline.get("ttft_ms", []))
        lines.append(f"  baseline relay: {1e6 * baseline['cpu_s'] / max(base_tokens, 1):.0f} µs of CPU per relayed token"
                     f" (its whole run, {base_tokens} tokens)"
                     + (f"; it waited for a core {1000 * baseline['run_queue_wait_s']:.0f} ms"
                        if baseline.get("run_queue_wait_s") is not None else "")
                     + (f"; {baseline['steal_cores']:.2f} of the cores stolen by the hypervisor during it"
                        if baseline.get("steal_cores") is not None else ""))
    counts = result.get("counts")
    if counts:
        sql = {k[4:]: v for k, v in counts.items() if k.startswith("sql:") and v}
        redis_cmds = {k[6:]: v for k, v in counts.items() if k.startswith("redis:") and v}
        lines.append("  per turn: SQL statements {:.1f} ({})".format(
            sql.get("Questions", 0) / turns, ", ".join(f"{k} {v / turns:.1f}" for k, v in sorted(sql.items()) if k != "Questions")))
        lines.append("  per turn: Redis commands {:.1f} ({})".format(
            sum(redis_cmds.values()) / turns,
            ", ".join(f"{k} {v / turns:.1f}" for k, v in sorted(redis_cmds.items(), key=lambda kv: -kv[1]))))
        upstream = {k[9:]: v for k, v in counts.items() if k.startswith("upstream:")}
        if upstream.get("requests"):
            lines.append("  upstream: {} requests on {} new connections in the measured phase".format(
                upstream["requests"], upstream.get("connections", 0)))
    sys_counts = result.get("syscalls")
    if sys_counts:
        lines.append("  per relayed token: {:.1f} syscalls, {:.2f} context switches (web process, perf stat)".format(
            sys_counts.get("raw_syscalls:sys_enter", 0) / max(tokens, 1), sys_counts.get("context-switches", 0) / max(tokens, 1)))
    return lines


def _production(server: str):
    # The web role exactly as the image starts it (project/serve.py), on loopback.
    return lambda port: serve_command(server, host="127.0.0.1", port=port)


class _ProcGroup:
    """The web processes of a run, summed (CPU, RSS) as if one."""

    def __init__(self, pids: list[int]):
        self.procs = [psutil.Process(pid) for pid in pids]

    @property
    def workers(self) -> list[psutil.Process]:
        """Their child processes, if any (e.g. the database workers of the
        experiment c19d0d6, started by the first lead socket): their CPU is the
        web role's."""
        return [child for p in self.procs for child in p.children(recursive=True)]

    def cpu_times(self):
        times = [p.cpu_times() for p in self.procs + self.workers]
        return SimpleNamespace(user=sum(t.user for t in times), system=sum(t.system for t in times))

    def worker_cpu(self) -> float:
        return sum(t.user + t.system for t in (p.cpu_times() for p in self.workers))

    def memory_info(self):
        return SimpleNamespace(rss=sum(p.memory_info().rss for p in self.procs))


SERVERS = {
    # "uvicorn-sansio" (the image's default) and "daphne": the production command lines
    # (one process, HTTP and WebSockets); the others are uvicorn variants for comparison.
    "daphne": _production("daphne"),
    "uvicorn-sansio": _production("uvicorn"),
    # The image's uvicorn on the standard asyncio loop instead of uvloop (ASGI_LOOP=asyncio).
    "uvicorn-sansio-asyncio": lambda port: [("asyncio" if a == "uvloop" else a)
                                            for a in serve_command("uvicorn", host="127.0.0.1", port=port)],
    "uvicorn": lambda port: [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets",
                             "--http", "httptools", "--loop", "asyncio", "--no-access-log", "--log-level", "warning",
                             "project.asgi:application"],
    "uvicorn-uvloop": lambda port: [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets",
                                    "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level",
                                    "warning", "project.asgi:application"],
    "uvicorn-wsproto": lambda port: [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--ws", "wsproto",
                                     "--http", "httptools", "--loop", "asyncio", "--no-access-log", "--log-level",
                                     "warning", "project.asgi:application"],
}


_port_offset = 0


async def start_web_process(server: str, args, env: dict, upstream_url: str, results_dir: Path, second: bool = False):
    # A port per server: the previous one's sockets may linger in TIME_WAIT.
    # SERVER[@TREE]: the web process may run another checkout (A/B against a baseline commit in one run).
    # SERVER,KEY=VALUE,...: settings of that web process (e.g. uvicorn-sansio,DB_PROCESSES=1).
    name, _, tree = server.partition("@")
    # A value may hold commas (MARKEZY_GC_THRESHOLDS=20000,5,20): split only before a NAME=.
    name, *settings_env = re.split(r",(?=[A-Z][A-Z0-9_]*=)", name)
    env = {**env, **dict(item.split("=", 1) for item in settings_env)}
    cwd = Path(tree) if tree else ROOT
    global _port_offset
    _port_offset = (_port_offset + 1) % 40
    port = (args.port or 18765) + _port_offset
    web_env = {**env, "OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": upstream_url, "OPENAI_MODEL": "bench"}
    web_log = results_dir / f"web-{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    web = subprocess.Popen(SERVERS[name](port), cwd=cwd, env={**os.environ, **web_env}, stdout=open(web_log, "wb"),
                           stderr=subprocess.STDOUT, preexec_fn=_on_cpus(args.pin[0] if args.pin else None))
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
    return web, base, ws_base


async def main_async(args) -> int:
    if args.pin:
        # Before anything is started: MariaDB, Redis (when private), the upstream
        # and this bench's clients inherit it; the web processes and the relay get theirs.
        pin_self(args.pin[1])
        if os.environ.get("DATABASE_URL"):
            print("--pin: DATABASE_URL/REDIS_URL are set: that MariaDB and Redis keep their own CPUs", file=sys.stderr)
    services_dir = services_start()
    procs: list[subprocess.Popen] = []
    try:
        database_own("markezy_bench")
        var = ROOT / "var" / "bench"
        var.mkdir(parents=True, exist_ok=True)
        env = {"MARKEZY_VAR_DIR": str(var), "WIDGET_SESSIONS_PER_IP_PER_HOUR": "1000000", "DEBUG": "0",
               "CHAT_RATE_MESSAGES": "1000", "LOG_LEVEL": "WARNING"}
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
        seed = json.loads(subprocess.run([PY, "manage.py", "seed_demo", "--json", "--origin", ORIGIN], cwd=ROOT,
                                         env={**os.environ, **env}, check=True, capture_output=True, text=True).stdout)
        results_dir = ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        tls_args = []
        if args.upstream_tls:
            from bench.tls import self_signed

            cert, key = self_signed(results_dir / "tls")
            tls_args = ["--tls-cert", str(cert), "--tls-key", str(key)]
            # The web processes and the relay trust it as OpenAI's CA (the HTTP libraries read SSL_CERT_FILE).
            env["SSL_CERT_FILE"] = str(cert)
        upstream, upstream_url = spawn([PY, "bench/upstream.py", "--tokens-per-second", str(args.rate),
                                        "--reply-tokens", str(args.tokens), "--ttft-ms", str(args.ttft), *tls_args])
        procs.append(upstream)
        relay, relay_url = spawn([PY, "bench/relay_baseline.py", "--upstream", upstream_url], env=env,
                                 cpus=args.pin[0] if args.pin else None)
        procs.append(relay)
        relay_proc = psutil.Process(relay.pid)
        relay_port = urlsplit(relay_url).port
        wire = None if args.no_wire else WireCapture.start()
        if wire is not None:
            atexit.register(wire.close)
        report = [f"# Markezy streaming benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
                  f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
                  f"upstream {'(HTTPS) ' if args.upstream_tls else ''}{args.rate:g} tok/s, {args.tokens}-token replies, TTFT {args.ttft:g} ms; "
                  f"{args.web_processes} web process(es) per server; servers: {', '.join(args.servers)}"
                  + (f"; pinned: web and relay on CPU {','.join(map(str, sorted(args.pin[0])))}, the rest on "
                     f"{','.join(map(str, sorted(args.pin[1])))}" if args.pin else "")
                  + ("; per-token latency at the wire (bench/capture.py)" if wire else
                     "; per-token latency as the clients read it (no packet capture here)")]
        spread = args.tokens / args.rate
        baselines: dict[tuple[int, str], dict] = {}
        phases: list[dict] = []
        for server in [server for _ in range(args.repeat) for server in args.servers]:
            web, base, ws_base = await start_web_process(server, args, env, upstream_url, results_dir)
            procs.append(web)
            token = httpx.post(base + "/api/v1/auth/token", json={"email": seed["owner"]["email"],
                                                                  "password": seed["owner"]["password"]}).json()["access"]
            extra_webs = []
            for _ in range(args.web_processes - 1):
                extra_webs.append(await start_web_process(server, args, env, upstream_url, results_dir, second=True))
                procs.append(extra_webs[-1][0])
            lead_ws_bases = [ws_base, *(w[2] for w in extra_webs)] if extra_webs else None
            proc = _ProcGroup([web.pid, *(w[0].pid for w in extra_webs)])
            web_bases = [base, *(w[1] for w in extra_webs)]
            monitor_ws_base = None
            if args.monitor_remote:
                # The staff monitor on a second web process: deltas reach it through the hub's
                # batched channel-layer messages, as for staff on another replica in production.
                web2, _, monitor_ws_base = await start_web_process(server, args, env, upstream_url, results_dir, second=True)
                procs.append(web2)
            web_ports = {urlsplit(b).port for b in web_bases}
            if wire is not None:
                wire.ports(relay_port, *web_ports)
            # Warm-up of every web process: imports, connection pools, caches (a cold second
            # process made the first scenario of a --web-processes 2 run look worse than the next).
            await run_service_leads(base, ws_base, seed["widget_key"], 5 * args.web_processes, None,
                                    lead_ws_bases=lead_ws_bases)
            gc_at_start = gc_pauses(web_bases)
            started_at = time.monotonic()
            for n in args.streams:
                # The baseline is measured again right before each server's scenarios: on a
                # shared machine the load moves within minutes.
                for arrival, spread_s in (("staggered", spread), ("burst", 0.0)):
                    if arrival == "burst" and args.no_burst:
                        continue
                    # The relay with the same arrivals as the scenarios it is compared with.
                    relay_cpu0 = relay_proc.cpu_times()
                    relay_wait0 = run_queue_wait([relay_proc.pid])
                    client_wait0 = run_queue_wait([os.getpid()])["main"]
                    steal0, relay_t0 = getattr(psutil.cpu_times(), "steal", 0.0), time.monotonic()
                    if wire is not None:
                        wire.begin()
                    with ClientCollector(enabled=args.client_gc) as collector:
                        baseline = baselines[n, arrival] = await run_baseline(relay_url, n, spread_s)
                    if wire is not None:
                        samples, _packets, dropped = wire.end(results_dir / "wire.json")
                        baseline["wire_lag_ms"] = wire_lags(samples, {relay_port})
                        baseline["wire_dropped"] = dropped
                    baseline["client_gc"] = collector.summary()
                    # A relay run the hypervisor starved has a slow p95 of its own: shown beside it.
                    baseline["steal_cores"] = ((getattr(psutil.cpu_times(), "steal", 0.0) - steal0)
                                               / max(time.monotonic() - relay_t0, 1e-9))
                    relay_cpu1 = relay_proc.cpu_times()
                    baseline["run_queue_wait_s"] = run_queue_wait([relay_proc.pid])["all"] - relay_wait0["all"]
                    baseline["client_wait_s"] = run_queue_wait([os.getpid()])["main"] - client_wait0
                    baseline["cpu_s"] = (relay_cpu1.user + relay_cpu1.system) - (relay_cpu0.user + relay_cpu0.system)
                    for with_monitor in ([False, True] if not args.no_monitor else [False]):
                        if arrival == "burst" and with_monitor:
                            continue
                        profiler = []
                        cpu_at_measure = []
                        workers_at_measure = []
                        machine_at_measure = []
                        waits_at_measure = []
                        client_wait_at_measure = []
                        counts_at_measure = []
                        gc_at_measure = []
                        perf_stat = []

                        def on_measure() -> None:
                            # Every lead connected and past its opening: the measured phase starts.
                            cpu_at_measure.append(proc.cpu_times())
                            workers_at_measure.append(proc.worker_cpu())
                            machine_at_measure.append(machine_cpu([p.pid for p in proc.procs]))
                            waits_at_measure.append(run_queue_wait([p.pid for p in proc.procs]))
                            client_wait_at_measure.append(run_queue_wait([os.getpid()])["main"])
                            gc_at_measure.append(gc_pauses(web_bases))
                            counts_at_measure.append(service_counts(upstream_url))
                            if wire is not None:
                                wire.begin()
                            if args.syscalls:
                                perf_stat.append(start_perf_stat(web.pid, results_dir))
                            if args.profile:
                                out = results_dir / (f"profile-{server.replace('/', '_')}-{n}-{arrival}"
                                                     f"{'-monitor' if with_monitor else ''}-{time.strftime('%H%M%S')}.txt")
                                profiler.append(subprocess.Popen(
                                    [str(Path(PY).parent / "py-spy"), "record", "--pid", str(web.pid), "--format",
                                     "raw", "--rate", str(args.profile_rate), "--gil", "--output", str(out), "--nonblocking"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

                        reset_llm_quota()
                        cpu0 = proc.cpu_times()
                        with ClientCollector(enabled=args.client_gc) as collector:
                            result = await run_service_leads(base, ws_base, seed["widget_key"], n,
                                                             token if with_monitor else None, spread_s,
                                                             monitor_ws_base, on_measure, lead_ws_bases,
                                                             monitor_client=args.monitor_client,
                                                             think_s=args.think)
                        result["client_gc"] = collector.summary()
                        if wire is not None and cpu_at_measure:
                            samples, _packets, dropped = wire.end(results_dir / "wire.json")
                            result["wire_lag_ms"] = wire_lags(samples, web_ports)
                            result["wire_dropped"] = dropped
                        cpu1 = proc.cpu_times()
                        counts1 = service_counts(upstream_url)
                        if gc_at_measure:
                            gc1 = gc_pauses(web_bases)
                            result["gc"] = {k: gc1[k] - gc_at_measure[0][k] for k in gc1}
                        if perf_stat:
                            result["syscalls"] = stop_perf_stat(*perf_stat[0])
                        if counts_at_measure:
                            result["counts"] = {k: counts1[k] - counts_at_measure[0].get(k, 0) for k in counts1}
                        for p in profiler:
                            p.send_signal(2)
                            p.wait(30)
                        result["cpu_s"] = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
                        c = cpu_at_measure[0] if cpu_at_measure else cpu0
                        result["cpu_measured_s"] = (cpu1.user + cpu1.system) - (c.user + c.system)
                        result["cpu_measured_sys_s"] = cpu1.system - c.system
                        if machine_at_measure:
                            m1, m0 = machine_cpu([p.pid for p in proc.procs]), machine_at_measure[0]
                            seconds = m1.pop("at") - m0.pop("at")
                            result["machine_cores"] = {k: (v - m0.get(k, 0.0)) / seconds for k, v in m1.items()}
                        if waits_at_measure:
                            w1 = run_queue_wait([p.pid for p in proc.procs])
                            w0 = waits_at_measure[0]
                            result["run_queue_wait_s"] = {k: w1[k] - w0[k] for k in ("main", "main_ran", "all")}
                            # The other threads that ran or waited most in the phase: (ran, waited) seconds.
                            deltas = {t: (r - w0["threads"].get(t, (0, 0))[0], q - w0["threads"].get(t, (0, 0))[1])
                                      for t, (r, q) in w1["threads"].items()}
                            result["run_queue_threads"] = sorted(deltas.values(), key=lambda rq: -sum(rq))[:4]
                        if client_wait_at_measure:
                            result["client_wait_s"] = run_queue_wait([os.getpid()])["main"] - client_wait_at_measure[0]
                        if proc.workers and workers_at_measure:
                            result["cpu_workers_measured_s"] = proc.worker_cpu() - workers_at_measure[0]
                        result["rss_mb"] = proc.memory_info().rss / 2**20
                        name = (f"[{server}] {n} streaming conversations, {arrival} arrivals"
                                + (", one staff monitor watching all" if with_monitor else "")
                                + (" (on a second web process)" if with_monitor and monitor_ws_base else "")
                                + (f", leads over {args.web_processes} web processes" if args.web_processes > 1 else ""))
                        lines = summarise(name, result, baseline)
                        phases.append(phase_record(name, result, baseline))
                        if args.timeline:
                            out = results_dir / (f"timeline-{server.replace('/', '_')}-{n}-{arrival}"
                                                 f"{'-monitor' if with_monitor else ''}-{time.strftime('%H%M%S')}.json")
                            out.write_text(json.dumps({**result["timeline"],
                                                       "relay_tokens": (baseline or {}).get("timeline", {}).get("tokens", [])}))
                            lines.append(f"  timeline: {out}")
                        lines.append(f"  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
                        report += lines
                        print("\n".join(lines), flush=True)
            # Every collection of the whole run, not only the measured phases: how often a
            # generation's pause comes and how long it is, which a 6 s phase catches only by chance.
            g1, minutes = gc_pauses(web_bases), (time.monotonic() - started_at) / 60
            run_gc = {k: g1[k] - gc_at_start[k] for k in g1}
            lines = [f"## [{server}] collector over all scenarios ({minutes:.1f} min): " + ", ".join(
                f"generation {gen} {run_gc[f'count_{gen}']:.0f} pauses, mean "
                f"{1000 * run_gc[f'sum_{gen}'] / max(run_gc[f'count_{gen}'], 1):.0f} ms" for gen in range(3))]
            report += lines
            print("\n".join(lines), flush=True)
            if not args.no_idle:
                gc.collect()
                first, held = await idle_socket_bytes(base, ws_base, seed["widget_key"], proc)
                report.append(f"## [{server}] idle lead socket: {held / 1024:.1f} KB each held (RSS growth over 200 idle "
                              f"sockets once 200 were opened and closed; {first / 1024:.1f} KB for the first 200)")
            for p in [*((web, web2) if monitor_ws_base else (web,)), *(w[0] for w in extra_webs)]:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        report += quiet_phases(phases, args.max_steal)
        text = "\n".join(report)
        print("\n" + text)
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / f"stream-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(text + "\n")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        services_stop(services_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--ttft", type=float, default=200)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each lead waits after every lead has its opening reply before sending its "
                             "message (in the measured phase; the CPU per token does not count waiting)")
    parser.add_argument("--upstream-tls", action="store_true",
                        help="the upstream speaks HTTPS (a self-signed certificate the web processes and the relay "
                             "trust), as OpenAI does: a new upstream connection then costs a TLS handshake")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-monitor", action="store_true")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst-arrival scenarios")
    parser.add_argument("--client-gc", action="store_true",
                        help="leave the bench's own garbage collector on while it measures (off by default: its "
                             "pauses stop every client's receipts at once)")
    parser.add_argument("--timeline", action="store_true",
                        help="write every token's upstream write time and lag, and each lead's send and "
                             "turn.completed, to bench/results/timeline-*.json")
    parser.add_argument("--no-wire", action="store_true",
                        help="date tokens as the clients read them, not at the wire (bench/capture.py)")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-socket memory measurement")
    parser.add_argument("--servers", nargs="+", default=["uvicorn-sansio", "daphne"],
                        help=f"ASGI servers to measure one after another in the same run (same baseline): "
                             f"{', '.join(sorted(SERVERS))}; SERVER@DIR runs the web process from another checkout")
    parser.add_argument("--repeat", type=int, default=1, help="measure the servers this many times, alternating")
    parser.add_argument("--monitor-client", choices=("process", "inline"), default="process",
                        help="where the bench's staff monitor runs: a process of its own (default), or on the leads' "
                             "event loop, where its frames delay the leads' receipts (the bench until 2026-12-07)")
    parser.add_argument("--monitor-remote", action="store_true",
                        help="connect the staff monitor to a second web process (the hub's cross-process path)")
    parser.add_argument("--syscalls", action="store_true",
                        help="count the web process's syscalls and context switches in the measured phase (perf stat)")
    parser.add_argument("--profile", action="store_true",
                        help="record a py-spy profile of the web process per scenario into bench/results/")
    parser.add_argument("--web-processes", type=int, default=1,
                        help="web processes sharing the leads in turn (production runs one per core); the monitor "
                             "and the idle sockets stay on the first")
    parser.add_argument("--pin", type=pin_parse, metavar="WEB:REST",
                        help="CPU affinity, e.g. 1:0: the web process(es) and the baseline relay on the CPUs WEB, "
                             "everything else this bench starts (MariaDB and Redis when private, the upstream, its "
                             "clients) on REST: the service on cores of its own, as a replica in production")
    parser.add_argument("--max-steal", type=float, default=0.05,
                        help="the closing summary lists the phases in which the hypervisor took at most this many "
                             "cores, in the phase and in its relay's run (default 0.05)")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second (--profile)")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
