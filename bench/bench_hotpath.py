"""A fixed micro-benchmark of the per-token path, in one process, no sockets.

It drives the code a token crosses in the web process between the upstream's
bytes and the server's `websocket.send`: the OpenAI provider's SSE parsing
(`_SSEStream`, fed the exact chunks `bench/upstream.py` writes), the output
guard and `TurnRunner._pump`, `hub.turn_delta`, each socket's `Sink`, and
Channels' `AsyncWebsocketConsumer.send` down to a `base_send` that only
encodes the text (what the ASGI server does first). N conversations stream
at once, interleaved one token each per loop iteration, as under load.

It prints CPU µs per relayed token (process time, minus a run with the same
fake upstream and no Markezy code) and is deterministic enough to run under
callgrind, whose instruction count survives a busy machine:

    .venv/bin/python bench/bench_hotpath.py                       # 50 conversations × 120 tokens, 5 rounds
    .venv/bin/python bench/bench_hotpath.py --sockets 2           # two sockets per conversation (a second tab)
    .venv/bin/python bench/bench_hotpath.py --staff               # plus one staff monitor on all of them
    # Instructions per token: two bare runs that differ only in reply length, the
    # difference divided by the extra tokens (startup and Django cancel out):
    for t in 60 180; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$t \\
        .venv/bin/python bench/bench_hotpath.py --bare --conversations 10 --tokens $t; done
    # (I(180) - I(60)) / (10 * 120): I from the "summary:" line of each /tmp/cg.$t
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for var in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
    os.environ.pop(var, None)  # in-memory channel layer: one process, nothing to reach
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("MARKEZY_VAR_DIR", "/tmp/markezy-hotpath-var")

import django  # noqa: E402

django.setup()

from chat.consumers import LeadConsumer  # noqa: E402

from chat.hub import Outbox, Sink, hub  # noqa: E402
from chat.llm.base import LLMProvider, ReplyRequest  # noqa: E402
from chat.llm.openai_provider import _SSEStream  # noqa: E402
from chat.services import ReplyPlan  # noqa: E402
from chat.streaming import TurnRunner  # noqa: E402


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    # Byte for byte what bench/upstream.py (and the API) writes.
    body = {"id": "chatcmpl-0123456789abcdef01234567", "object": "chat.completion.chunk", "created": 1764600000,
            "model": "bench", "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def upstream_chunks(tokens: int) -> list[bytes]:
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": f" {1764600000000000 + i}"}) for i in range(tokens)]
    chunks.append(_chunk({}, "stop"))
    chunks.append(b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"bench","choices":[],'
                  b'"usage":{"prompt_tokens":50,"completion_tokens":120,"total_tokens":170}}\n\n')
    chunks.append(b"data: [DONE]\n\n")
    return chunks


class FakeReads:
    """One network read per chunk, each in its own loop iteration."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = iter(chunks)

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        await asyncio.sleep(0)
        try:
            return next(self.chunks)
        except StopIteration:
            raise StopAsyncIteration from None


def sdk_reads(chunks: list[bytes]):
    """The same reads through the layers the SDK's `iter_bytes()` adds (its own
    generator, httpx's aiter_bytes/aiter_raw, the transport's stream): the path
    before chat.llm.openai_provider read aiohttp's body directly."""
    import httpx2

    class Transport(httpx2.AsyncByteStream):
        async def __aiter__(self):
            async for chunk in FakeReads(chunks):
                yield chunk

    response = httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=Transport())

    async def iter_bytes():
        async for chunk in response.aiter_bytes():
            yield chunk

    return iter_bytes().__aiter__()


class _Response:
    async def aclose(self) -> None:
        return None


class FakeProvider(LLMProvider):
    name = "openai"

    def __init__(self, chunks: list[bytes], sdk: bool):
        self.chunks = chunks
        self.sdk = sdk

    async def stream_reply(self, request):
        reads = sdk_reads(self.chunks) if self.sdk else FakeReads(self.chunks)
        return _SSEStream(_Response(), reads, 10.0, "bench")

    async def complete_json(self, **kwargs):
        raise NotImplementedError


class Socket(LeadConsumer):
    """The lead's consumer as Channels runs it, down to the server's first step."""

    def __init__(self):
        super().__init__()
        self.frames = 0
        self.bytes = 0

        async def base_send(message):
            self.frames += 1
            self.bytes += len(message["text"].encode("utf8"))

        self.base_send = base_send
        # What the consumer hands its Sink (Channels' send() before the hub had its own).
        self.frame_sender = getattr(self, "send_text", self.send)


async def one_round(args, chunks: list[bytes], null: bool) -> tuple[float, int, int]:
    convs = [str(uuid.uuid4()) for _ in range(args.conversations)]
    sockets: list[Socket] = []
    staff = None
    if args.staff:
        staff = Socket()
        outbox = Outbox(staff.frame_sender, window=0.04)
    for conv in convs:
        for _ in range(args.sockets):
            socket = Socket()
            sockets.append(socket)
            sink = Sink(socket.frame_sender, conv)
            await hub.attach(sink)
            await sink.go_live([], None)
        if staff is not None:
            sink = Sink(staff.frame_sender, conv, staff=True, tag=True, outbox=outbox)
            await hub.attach(sink)
            await sink.go_live([], None)
    if staff is not None:
        sockets.append(staff)
    plan = ReplyPlan(messages=[{"role": "user", "content": "hola"}], scripted="")
    provider = FakeProvider(chunks, args.sdk_reads)
    request = ReplyRequest(messages=plan.messages, scripted="")

    async def null_stream() -> None:
        async for _ in FakeReads(chunks):
            pass

    async def stream(conv: str) -> None:
        runner = TurnRunner(conversation_id=conv, agency_id=str(uuid.uuid4()), plan=plan, agency_settings={},
                            origin_patterns=["https://bench.markezy.test"])
        turn = runner.turn = await hub.turn_started(conv, runner.turn_id, "assistant")
        outcome, _usage, _first = await runner._pump(provider, request, turn)
        assert outcome == "completed", outcome
        await hub.turn_finished(conv, turn)

    t0 = time.process_time()
    await asyncio.gather(*(null_stream() if null else stream(conv) for conv in convs))
    if staff is not None and not null:
        while outbox.frames or outbox.task is not None:
            await asyncio.sleep(0.005)
    elapsed = time.process_time() - t0
    for conv in convs:
        for sink in tuple(hub.sinks.get(conv, ())):
            await hub.detach(sink)
    return elapsed, sum(s.frames for s in sockets), sum(s.bytes for s in sockets)


async def main_async(args) -> None:
    chunks = upstream_chunks(args.tokens)
    tokens = args.conversations * args.tokens
    if args.bare:
        # One round, nothing else: for instruction counts (two --tokens values, take the difference).
        elapsed, frames, sent = await one_round(args, chunks, null=False)
        print(f"bare round: {elapsed * 1e3:.0f} ms CPU, frames {frames}, bytes {sent}")
        return
    # Warm imports and caches once.
    await one_round(args, chunks, null=False)
    nulls, runs = [], []
    frames = sent = 0
    for _ in range(args.rounds):
        nulls.append((await one_round(args, chunks, null=True))[0])
        elapsed, frames, sent = await one_round(args, chunks, null=False)
        runs.append(elapsed)
    null, run = min(nulls), min(runs)
    per_token = (run - null) / tokens * 1e6
    print(f"{args.conversations} conversations × {args.tokens} tokens, {args.sockets} socket(s) each"
          f"{', one staff monitor on all' if args.staff else ''}; best of {args.rounds}")
    print(f"  Markezy per relayed token: {per_token:.1f} µs CPU  (round {run * 1e3:.0f} ms, fake upstream alone"
          f" {null * 1e3:.0f} ms)  = {per_token:.0f} ms per 1,000 tokens")
    print(f"  frames sent {frames}, bytes {sent}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--sockets", type=int, default=1, help="lead sockets per conversation")
    parser.add_argument("--staff", action="store_true", help="one staff monitor subscribed to every conversation")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sdk-reads", action="store_true",
                        help="read the upstream through the SDK's iter_bytes() layers (the path before direct reads)")
    parser.add_argument("--bare", action="store_true", help="one round without warm-up or null round (callgrind)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
