"""An OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It speaks the Chat Completions API as OpenAI does — `chat.completion` objects,
streamed `chat.completion.chunk`s with `delta.content`, `finish_reason`, the
usage chunk under `stream_options.include_usage`, `data: [DONE]`, tool-call
deltas, `response_format` JSON answers — and embeddings (float or the SDK's
default base64). Tests use the real `openai` SDK against it.

Fault modes, per test: 429 with `retry-after`, 500, a timeout before the first
byte, a stream cut after N chunks, invalid JSON for structured output, and a
fixed token rate / time to first token.

    double = OpenAIDouble().start()       # base_url like http://127.0.0.1:PORT/v1
    double.script(text="Hola, ¿qué tal?")
    double.fail("429", times=2)
    double.stop()

    python -m tests.doubles.openai_server --port 0 --tokens-per-second 60
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout" | "cut" | "invalid_json"
    times: int = 1
    after_chunks: int = 5
    retry_after: float = 0.1
    delay: float = 30.0


@dataclass
class Script:
    text: str | None = None
    json: dict | None = None
    tool_call: dict | None = None  # {"name", "arguments": dict}


@dataclass
class DoubleState:
    tokens_per_second: float = 0.0
    ttft: float = 0.0
    embedding_dim: int = 64
    scripts: deque = field(default_factory=deque)
    faults: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)
    disconnects: int = 0
    # Compress streamed bodies when the client accepts it (a proxy in front of the API may).
    compress_streams: bool = False
    # Seconds between `data: [DONE]` and the body's end (the chunked terminator): 0 sends
    # them back to back, as the API usually does; a pause makes the end a read of its own.
    end_delay: float = 0.0


def _words(text: str) -> list[str]:
    pieces, current = [], ""
    for ch in text:
        if ch == " " and current:
            pieces.append(current)
            current = ""
        current += ch
    if current:
        pieces.append(current)
    return pieces


def default_reply(messages: list[dict]) -> str:
    """Deterministic Spanish text: what the system asked to say, if anything."""
    for message in reversed(messages):
        content = message.get("content") or ""
        if message.get("role") == "system" and "MENSAJE INDICADO" in content:
            return content.split("\n", 1)[-1].strip()
    return "De acuerdo, sigamos con la siguiente pregunta."


def _embedding(text: str, dim: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    values = []
    while len(values) < dim:
        seed = hashlib.sha256(seed).digest()
        values.extend((b - 127.5) / 127.5 for b in seed)
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def make_app(state: DoubleState) -> web.Application:
    def error(status: int, message: str, code: str, headers: dict | None = None) -> web.Response:
        return web.json_response({"error": {"message": message, "type": code, "param": None, "code": code}},
                                 status=status, headers=headers)

    def take_fault() -> Fault | None:
        if not state.faults:
            return None
        fault = state.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            state.faults.popleft()
        return fault

    async def accept(request: web.Request) -> tuple[dict | None, web.Response | None]:
        """Check the key like the API does, then record the request."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or len(header) <= 7:
            return None, error(401, "Incorrect API key provided.", "invalid_api_key")
        body = await request.json()
        # `peer` (the client's address and port) tells which TCP connection a request came on.
        state.requests.append({"path": request.path, "body": body, "headers": dict(request.headers),
                               "peer": request.transport.get_extra_info("peername") if request.transport else None})
        return body, None

    async def completions(request: web.Request) -> web.StreamResponse:
        body, denied = await accept(request)
        if denied is not None:
            return denied
        fault = take_fault()
        if fault and fault.kind == "429":
            return error(429, "Rate limit reached.", "rate_limit_exceeded",
                         {"retry-after": str(fault.retry_after), "x-ratelimit-remaining-requests": "0",
                          "x-ratelimit-reset-requests": f"{fault.retry_after}s"})
        if fault and fault.kind == "500":
            return error(500, "The server had an error while processing your request.", "server_error")
        if fault and fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
        script = state.scripts.popleft() if state.scripts else Script()
        model = body.get("model", "gpt-test")
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        fmt = (body.get("response_format") or {}).get("type")
        if script.json is not None or fmt in ("json_schema", "json_object"):
            value = dict(script.json or {})
            schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
            if ((body.get("response_format") or {}).get("json_schema") or {}).get("strict"):
                # Strict structured outputs always carry every required key.
                for key in schema.get("required", []):
                    value.setdefault(key, None)
            text = "{not json" if fault and fault.kind == "invalid_json" else json.dumps(value, ensure_ascii=False)
        else:
            text = script.text if script.text is not None else default_reply(body.get("messages", []))
        usage = {"prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])),
                 "completion_tokens": len(_words(text)), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]

        if not body.get("stream"):
            message: dict = {"role": "assistant", "content": text, "refusal": None}
            finish = "stop"
            if script.tool_call:
                message = {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {
                        "name": script.tool_call["name"], "arguments": json.dumps(script.tool_call["arguments"])}}]}
                finish = "tool_calls"
            return web.json_response({"id": cid, "object": "chat.completion", "created": created, "model": model,
                                      "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                                      "usage": usage, "system_fingerprint": "fp_double"})

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        if state.compress_streams and "gzip" in request.headers.get("Accept-Encoding", ""):
            response.enable_compression(web.ContentCoding.gzip)
        await response.prepare(request)

        def chunk(delta: dict, finish: str | None = None) -> bytes:
            return b"data: " + json.dumps({
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_double",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }, ensure_ascii=False).encode() + b"\n\n"

        try:
            if state.ttft:
                await asyncio.sleep(state.ttft)
            await response.write(chunk({"role": "assistant", "content": "", "refusal": None}))
            if script.tool_call:
                arguments = json.dumps(script.tool_call["arguments"])
                await response.write(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                                            "function": {"name": script.tool_call["name"], "arguments": ""}}]}))
                for i in range(0, len(arguments), 8):
                    await response.write(chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i:i + 8]}}]}))
                finish = "tool_calls"
            else:
                interval = 1.0 / state.tokens_per_second if state.tokens_per_second else 0.0
                start = time.monotonic()
                for i, piece in enumerate(_words(text)):
                    if fault and fault.kind == "cut" and i >= fault.after_chunks:
                        # Drop the connection mid-stream, as a proxy reset would.
                        request.transport.close()
                        return response
                    if interval:
                        delay = start + i * interval - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    await response.write(chunk({"content": piece}))
                finish = "stop"
            await response.write(chunk({}, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                await response.write(b"data: " + json.dumps({
                    "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [], "usage": usage}).encode() + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
            if state.end_delay:
                await asyncio.sleep(state.end_delay)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            state.disconnects += 1
            raise
        return response

    async def embeddings(request: web.Request) -> web.Response:
        body, denied = await accept(request)
        if denied is not None:
            return denied
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(inputs):
            vector = _embedding(str(text), state.embedding_dim)
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": i, "embedding": encoded})
            else:
                data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(len(str(t).split()) for t in inputs)
        return web.json_response({"object": "list", "data": data, "model": body.get("model", "text-embedding-3-small"),
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/v1/embeddings", embeddings)
    return app


class OpenAIDouble:
    """Runs the server in a background thread with its own event loop."""

    def __init__(self, *, tokens_per_second: float = 0.0, ttft: float = 0.0, port: int = 0,
                 idle_timeout: float = 75.0):
        self.state = DoubleState(tokens_per_second=tokens_per_second, ttft=ttft)
        self._port = port
        # How long the server keeps an idle keep-alive connection open (aiohttp's default, 75 s).
        self._idle_timeout = idle_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> "OpenAIDouble":
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            runner = web.AppRunner(make_app(self.state), access_log=None, keepalive_timeout=self._idle_timeout)
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", self._port, backlog=1024)
            self._loop.run_until_complete(site.start())
            self.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
            self._runner = runner
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(runner.cleanup())

        self._thread = threading.Thread(target=run, daemon=True, name="openai-double")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "OpenAIDouble":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, fn) -> None:
        self._loop.call_soon_threadsafe(fn)

    def script(self, *, text: str | None = None, json: dict | None = None, tool_call: dict | None = None) -> None:
        self.state.scripts.append(Script(text=text, json=json, tool_call=tool_call))

    def fail(self, kind: str, *, times: int = 1, after_chunks: int = 5, retry_after: float = 0.1, delay: float = 30.0) -> None:
        self.state.faults.append(Fault(kind, times, after_chunks, retry_after, delay))

    def reset(self) -> None:
        self.state.scripts.clear()
        self.state.faults.clear()
        self.state.requests.clear()

    @property
    def requests(self) -> list[dict]:
        return self.state.requests


# A control endpoint makes the standalone process scriptable from other processes.
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens-per-second", type=float, default=0)
    parser.add_argument("--ttft", type=float, default=0)
    args = parser.parse_args()
    state = DoubleState(tokens_per_second=args.tokens_per_second, ttft=args.ttft)
    app = make_app(state)

    async def control(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("reset"):
            state.scripts.clear()
            state.faults.clear()
            state.requests.clear()
        for f in body.get("faults", []):
            state.faults.append(Fault(**f))
        for s in body.get("scripts", []):
            state.scripts.append(Script(**s))
        return web.json_response({"requests": len(state.requests), "disconnects": state.disconnects})

    app.router.add_post("/_double/control", control)

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=2048)
        await site.start()
        print(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
