"""A stamping OpenAI-compatible streaming upstream for benchmarks.

Speaks `POST /v1/chat/completions` with `stream=true` exactly like the API
(chunk objects, `delta.content`, `finish_reason`, a usage chunk, `[DONE]`), at a
fixed token rate. Each token's text carries the wall-clock time it was written
to the socket (` 1732451234123456`), so a client anywhere downstream on this
machine can compute how long that token took to reach it.

    python bench/upstream.py --port 0 --tokens-per-second 60 --reply-tokens 120 --ttft-ms 200
    python bench/upstream.py ... --tls-cert CERT --tls-key KEY     # HTTPS, as OpenAI (bench/tls.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import time
import uuid

from aiohttp import web


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None) -> bytes:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def make_app(*, tokens_per_second: float, reply_tokens: int, ttft_ms: float) -> web.Application:
    interval = 1.0 / tokens_per_second
    # Requests, and the connections they came on (a new client address and port is a new
    # connection): what a client's connection pooling saves, read at GET /v1/_stats.
    requests = 0
    peers: set = set()

    async def completions(request: web.Request) -> web.StreamResponse:
        nonlocal requests
        requests += 1
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        body = await request.json()
        model = body.get("model", "bench-model")
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if not body.get("stream"):
            text = " ".join(["palabra"] * reply_tokens)
            return web.json_response({
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 50, "completion_tokens": reply_tokens, "total_tokens": 50 + reply_tokens},
            })
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        await asyncio.sleep(ttft_ms / 1000)
        await response.write(_chunk(cid, created, model, {"role": "assistant", "content": ""}))
        start = time.monotonic()
        for i in range(reply_tokens):
            # Absolute schedule: no drift when the loop is busy.
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await response.write(_chunk(cid, created, model, {"content": f" {time.time_ns() // 1000}"}))
        await response.write(_chunk(cid, created, model, {}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                     "usage": {"prompt_tokens": 50, "completion_tokens": reply_tokens, "total_tokens": 50 + reply_tokens}}
            await response.write(b"data: " + json.dumps(usage).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def stats_get(request: web.Request) -> web.Response:
        return web.json_response({"requests": requests, "connections": len(peers)})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/_stats", stats_get)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens-per-second", type=float, default=60)
    parser.add_argument("--reply-tokens", type=int, default=120)
    parser.add_argument("--ttft-ms", type=float, default=200)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    async def run() -> None:
        runner = web.AppRunner(make_app(tokens_per_second=args.tokens_per_second, reply_tokens=args.reply_tokens,
                                        ttft_ms=args.ttft_ms), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=2048, ssl_context=tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(f"{'https' if tls else 'http'}://127.0.0.1:{port}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
