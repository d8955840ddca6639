"""The baseline: a plain `websockets` relay of the same upstream stream.

One process, no framework: a client connects, the relay opens a streaming
Chat Completions request upstream (aiohttp) and forwards each token as a JSON
frame. Whatever Markezy adds over this is the overhead the benchmark reports.

    python bench/relay_baseline.py --port 0 --upstream http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import argparse
import asyncio
import json

import aiohttp
import websockets


async def serve(port: int, upstream: str) -> None:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def handler(ws):
        async for _ in ws:
            async with session.post(upstream + "/chat/completions",
                                    json={"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hola"}]},
                                    headers={"Authorization": "Bearer bench"}) as response:
                offset = 0
                async for raw in response.content:
                    line = raw.strip()
                    if not line.startswith(b"data: ") or line == b"data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if not chunk["choices"]:
                        continue
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        await ws.send(json.dumps({"type": "turn.delta", "offset": offset, "text": text}))
                        offset += len(text)
            await ws.send(json.dumps({"type": "turn.completed"}))

    async with websockets.serve(handler, "127.0.0.1", port, max_queue=None, compression=None) as server:
        print(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.upstream))


if __name__ == "__main__":
    main()
