"""The Python heap an idle, authenticated socket holds in the server and in
the consumer's framing, by `tracemalloc`, on uvicorn's sans-I/O protocol
as the image runs it (`project.ws_protocol.LeanWebSocketsProtocol`) and on
the stock one, with a browser's handshake headers.

    .venv/bin/python bench/bench_socket_heap.py [--sockets 300]

It runs uvicorn in this process with a minimal `_JsonSocket` (the lead and
monitor sockets' base class: framing, auth deadline, the headers dropped at
authentication), opens N sockets, authenticates each, and compares heap
snapshots taken before and after (the clients run in a child process,
so the heap is the server's). It isolates the server and framing share of an
idle lead socket; `bench_stream.py`'s "idle lead socket" line is the whole
web process's RSS, which moves by ±9 KB a socket on a busy host.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

import uvicorn  # noqa: E402
import websockets  # noqa: E402
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol  # noqa: E402

from chat.consumers import _JsonSocket  # noqa: E402
from project.ws_protocol import LeanWebSocketsProtocol  # noqa: E402

# What Chrome sends to a cross-site WebSocket (no cookies for the service's domain).
BROWSER_HEADERS = {
    "Pragma": "no-cache", "Cache-Control": "no-cache",
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36",
    "Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "es-ES,es;q=0.9,en;q=0.8",
    "X-Forwarded-For": "83.45.12.9", "X-Forwarded-Proto": "https", "X-Real-IP": "83.45.12.9",
}


class Socket(_JsonSocket):
    kind = "bench"
    headers_cleared = True

    async def authenticate(self, frame: dict) -> None:
        self._authenticated()
        await self.send_json({"type": "ready"})

    def _forget_handshake_headers(self) -> None:
        if Socket.headers_cleared:
            super()._forget_handshake_headers()


async def measure(protocol, *, sockets: int, clear_headers: bool) -> float:
    Socket.headers_cleared = clear_headers
    config = uvicorn.Config(Socket.as_asgi(), host="127.0.0.1", port=0, ws=protocol, lifespan="off",
                            log_level="warning", ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"ws://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"

    async def open_sockets(count: int) -> asyncio.subprocess.Process:
        # The clients in a process of their own: this one's heap is then the server's alone.
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--clients", url, str(count),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert (await child.stdout.readline()).strip() == b"ready"
        return child

    async def close_sockets(child: asyncio.subprocess.Process) -> None:
        child.stdin.close()
        await child.wait()

    # One round first: lazily created module state is not a socket's.
    await close_sockets(await open_sockets(20))
    await asyncio.sleep(0.3)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    clients = await open_sockets(sockets)
    await asyncio.sleep(0.5)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_socket = sum(s.size_diff for s in after.compare_to(before, "filename")) / sockets
    await close_sockets(clients)
    server.should_exit = True
    await task
    return per_socket


async def clients(url: str, count: int) -> None:
    opened = []
    for _ in range(count):
        ws = await websockets.connect(url, origin="https://www.agencia-ejemplo.es", compression=None,
                                      additional_headers=BROWSER_HEADERS)
        await ws.send(json.dumps({"type": "auth"}))
        await ws.recv()
        opened.append(ws)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for ws in opened:
        await ws.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--clients", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients:
        await clients(args.clients[0], int(args.clients[1]))
        return
    rows = [("stock websockets-sansio, headers kept", WebSocketsSansIOProtocol, False),
            ("LeanWebSocketsProtocol, headers kept", LeanWebSocketsProtocol, False),
            ("LeanWebSocketsProtocol, headers dropped at auth (as shipped)", LeanWebSocketsProtocol, True)]
    print(f"# server-side heap per idle authenticated socket, {args.sockets} sockets, tracemalloc")
    for label, protocol, clear in rows:
        kb = await measure(protocol, sockets=args.sockets, clear_headers=clear) / 1024
        print(f"  {label:62s} {kb:6.2f} KB")


if __name__ == "__main__":
    asyncio.run(main())
