"""What the ASGI server alone costs per WebSocket frame, daphne against uvicorn.

A bare ASGI app (below, no Django, no Channels) gives each socket 120 text
frames at 60 a second, the shape of one streamed reply; N sockets at once. The
server process's CPU seconds for the measured sockets, divided by the frames,
is the server's own cost per frame: the figure the image's choice between
daphne and uvicorn (docker/entrypoint.sh, ASGI_SERVER) rests on.

    .venv/bin/python bench/bench_servers.py --sockets 50 200 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRAME = '{"type":"turn.delta","turn":"6f1c0d1e-8a4b-4c55-9d1e-2b7a3c4d5e6f","offset":%d,"text":" 1764600000000000"}'


async def app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    await receive()  # the client's "go"
    start = time.monotonic()
    for i in range(120):
        delay = start + i / 60 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await send({"type": "websocket.send", "text": FRAME % (i * 17)})
    await send({"type": "websocket.close", "code": 1000})


def _uvicorn(ws: str, loop: str = "asyncio"):
    return lambda port: [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--ws", ws,
                         "--http", "httptools", "--loop", loop, "--no-access-log", "--log-level", "warning",
                         "--lifespan", "off", "bench.bench_servers:app"]


SERVERS = {
    "daphne": lambda port: [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.bench_servers:app"],
    "uvicorn-sansio": _uvicorn("websockets-sansio"),
    "uvicorn": _uvicorn("websockets"),
    "uvicorn-sansio-uvloop": _uvicorn("websockets-sansio", "uvloop"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _socket(url: str) -> int:
    import websockets

    frames = 0
    async with websockets.connect(url, compression=None, max_queue=None) as ws:
        await ws.send("go")
        try:
            async for _ in ws:
                frames += 1
        except websockets.ConnectionClosed:
            pass
    return frames


async def measure(name: str, sockets: int) -> tuple[float, int]:
    import psutil

    port = _free_port()
    proc = subprocess.Popen(SERVERS[name](port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/"
        await asyncio.gather(*(_socket(url) for _ in range(5)))  # warm
        ps = psutil.Process(proc.pid)
        before = ps.cpu_times()
        frames = sum(await asyncio.gather(*(_socket(url) for _ in range(sockets))))
        after = ps.cpu_times()
    finally:
        proc.terminate()
        proc.wait(10)
    return (after.user + after.system) - (before.user + before.system), frames


async def main_async(args) -> None:
    for sockets in args.sockets:
        for _ in range(args.rounds):
            for name in args.servers:
                cpu, frames = await measure(name, sockets)
                print(f"{name:22s} {sockets:4d} sockets: {cpu * 1e6 / max(frames, 1):6.1f} µs server CPU per frame"
                      f" ({frames} frames, {cpu:.2f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--servers", nargs="+", default=["daphne", "uvicorn-sansio"], choices=sorted(SERVERS))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
