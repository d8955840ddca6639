"""The OpenAI provider (any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama,
the test double), on the official SDK.

Hot path, from the measurements in issue 13: the SDK's aiohttp transport
(`DefaultAioHttpClient`) instead of httpx's pool, and the SSE lines of
raw response parsed here with orjson instead of building the SDK's chunk
objects (~150 µs each). Both chat requests go through the client's documented
`post()` ("custom/undocumented requests"): the same retries, timeouts, headers
and errors as `chat.completions.create()`, without its per-request walk of
the whole prompt against the request's TypedDicts (~1.5 ms per lead message,
5 % of the web process's CPU at 50 streams; bench/README.md). The JSON answers
are still the SDK's `ChatCompletion`.
The SDK retries 429/5xx before the first byte (`max_retries`); after that a
failure is `LLMUnavailable`.
"""

from __future__ import annotations

import asyncio
import functools
import time

import jsonschema
import orjson
import structlog

from chat.llm.base import LLMProvider, LLMStream, LLMUnavailable, ReplyRequest, Usage

log = structlog.get_logger(__name__)


class _SSEStream(LLMStream):
    """The SSE events of one streamed completion, read from the raw bytes.

    Every `data:` event that arrived in the same network read is folded into
    one piece: at low load that is one token per read, as before; when the
    process falls behind, the tokens that piled up go out as one delta (one
    guard pass, one frame per socket) instead of one each — the backlog then
    shrinks instead of growing (bench/README.md)."""

    def __init__(self, response, chunks, first_token_timeout: float, model: str):
        self._response = response
        self._chunks = chunks
        self._first_token_timeout = first_token_timeout
        self._model = model
        self._done = False
        self._finished = False
        self._buffer = b""
        self._error: Exception | None = None  # raised after the text that preceded it went out
        self.usage = None

    async def __anext__(self) -> str:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._done:
            raise StopAsyncIteration
        while True:
            try:
                if self.first_token_at is None:
                    chunk = await asyncio.wait_for(self._chunks.__anext__(), self._first_token_timeout)
                else:
                    chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                await self.aclose()
                if not self._finished:
                    raise LLMUnavailable("stream ended before [DONE]") from None
                raise
            except (asyncio.TimeoutError, TimeoutError):
                await self.aclose()
                raise LLMUnavailable("no first token in time") from None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - transport errors mid-stream
                await self.aclose()
                raise LLMUnavailable(f"stream broken: {type(exc).__name__}") from exc
            lines = (self._buffer + chunk).split(b"\n")
            self._buffer = lines.pop()
            pieces = []
            for line in lines:
                try:
                    piece = self._event(line)
                except StopAsyncIteration:
                    await self.aclose()
                    break
                except LLMUnavailable as exc:
                    await self.aclose()
                    if not pieces:
                        raise
                    self._error = exc
                    break
                if piece:
                    pieces.append(piece)
            if pieces:
                if self.first_token_at is None:
                    self.first_token_at = time.monotonic()
                return "".join(pieces)
            if self._done:
                raise StopAsyncIteration

    def _event(self, line: bytes) -> str | None:
        """The content of one SSE line (None if it has none); StopAsyncIteration at [DONE]."""
        if not line.startswith(b"data:"):
            return None
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self._finished = True
            raise StopAsyncIteration
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise LLMUnavailable("malformed stream chunk") from exc
        if "error" in chunk:
            raise LLMUnavailable(f"upstream error: {chunk['error']}")
        usage = chunk.get("usage")
        if usage:
            self.usage = Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0),
                               chunk.get("model", self._model))
        choices = chunk.get("choices") or ()
        if not choices:
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self._finished = True
        return (choice.get("delta") or {}).get("content")

    async def aclose(self) -> None:
        if self._done:
            return
        self._done = True
        if self._finished and not self._at_eof():
            # [DONE] is the last event, but the body's end (the chunked terminator)
            # often comes in a read of its own. Closed before it, aiohttp drops the
            # connection instead of pooling it, and the next turn opens a new one
            # (against OpenAI a TLS handshake on this loop). It is read in the
            # background: the turn's completion does not wait for it.
            task = asyncio.get_running_loop().create_task(self._drain_then_close())
            _draining.add(task)
            task.add_done_callback(_draining.discard)
            return
        await self._close()

    def _at_eof(self) -> bool:
        content = getattr(self._chunks, "content", None)
        return content is not None and content.at_eof()

    async def _drain_then_close(self) -> None:
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                async for _ in self._chunks:
                    pass
        except Exception:  # noqa: BLE001 - past DRAIN_SECONDS, or a broken connection: closed below either way
            pass
        await self._close()

    async def _close(self) -> None:
        try:
            await self._response.aclose()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


# How long a finished stream's end may take to arrive before its connection is closed instead of pooled.
DRAIN_SECONDS = 2.0
# Finished streams whose end is still being read (the loop keeps only weak references to tasks).
_draining: set[asyncio.Task] = set()


class _Reads:
    """The body as aiohttp reads it from the socket, one `readany()` a step.

    The SDK's `iter_bytes()` passes every read through five async generators
    (the SDK's, httpx's decoder, chunker and byte counter, the vendored aiohttp
    transport's): ~19 µs of CPU per token at 50 streams (bench/README.md).
    aiohttp still applies the read timeout and raises on a cut connection."""

    __slots__ = ("content",)

    def __init__(self, content):
        self.content = content

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.content.readany()
        if not chunk:
            raise StopAsyncIteration
        return chunk


def _network_reads(response):
    """Read the body straight from aiohttp when nothing needs decoding (no
    Content-Encoding: httpx would otherwise decompress it); else the HTTP
    library's decoded bytes."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    stream = getattr(response, "stream", None)
    # httpx wraps the transport's stream (BoundAsyncStream._stream); the vendored
    # transport keeps aiohttp's response on it.
    inner = getattr(stream, "_stream", stream)
    content = getattr(getattr(inner, "_aiohttp_response", None), "content", None)
    if encoding in ("", "identity") and content is not None and hasattr(content, "readany"):
        return _Reads(content)
    # Decoded by the HTTP library (a compressed body).
    return response.aiter_bytes().__aiter__()


def _http_response_type():
    """The HTTP library's Response class the SDK returns unread for `cast_to`:
    httpx2's since openai 3, httpx's before."""
    try:
        import httpx2

        return httpx2.Response
    except ImportError:  # pragma: no cover - openai < 3
        import httpx

        return httpx.Response


@functools.cache
def _tls_context():
    """The HTTP library's default TLS context (CA bundle, SSL_CERT_FILE), built
    once: each client would load the CA bundle again (~40 ms of CPU on the
    event loop that streams every token)."""
    import httpx2

    return httpx2.create_ssl_context()


def preload() -> None:
    """Import the SDK and what its first client pulls in (its aiohttp
    transport, anyio, h11, h2, …) and build the TLS context: ~1 s of CPU that
    the first streamed reply of a process would otherwise spend on the event
    loop, while every socket of the process waits. Loaded at start-up, it is
    also frozen out of the collector's walks (project.runtime.tune_gc).
    Needs no event loop and opens no connection."""
    from openai import AsyncOpenAI, DefaultAioHttpClient
    from openai.types.chat import ChatCompletion  # noqa: F401  (complete_json's answer type)

    AsyncOpenAI(api_key="preload", base_url="http://127.0.0.1:9/v1",
                http_client=DefaultAioHttpClient(verify=_tls_context()))


class OpenAIProvider(LLMProvider):
    name = "openai"

    def __init__(self, *, api_key: str, base_url: str | None, model: str, embedding_model: str,
                 timeout: float = 30.0, first_token_timeout: float = 10.0, max_retries: int = 2,
                 keepalive: float = 60.0):
        self.api_key = api_key
        self.base_url = base_url
        self.model = model
        self.embedding_model = embedding_model
        self.timeout = timeout
        self.first_token_timeout = first_token_timeout
        self.max_retries = max_retries
        self.keepalive = keepalive
        self._clients: dict[int, object] = {}

    def client(self):
        """One AsyncOpenAI per event loop: its aiohttp session belongs to a loop."""
        from openai import AsyncOpenAI, DefaultAioHttpClient

        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            client = AsyncOpenAI(api_key=self.api_key, base_url=self.base_url, max_retries=self.max_retries,
                                 timeout=self.timeout,
                                 http_client=DefaultAioHttpClient(timeout=self.timeout, verify=_tls_context(),
                                                                  limits=self._limits()))
            self._clients[id(loop)] = client
        return client

    def _limits(self):
        """The SDK's connection limits with a longer keep-alive. Its default
        keeps an idle upstream connection 5 s; a lead reads a reply and types
        the next message for longer than that, so nearly every turn opened a
        new connection (against OpenAI a TLS handshake, on the event loop that
        streams every token). An idle connection the server has closed
        meanwhile is dropped by the pool, or fails before the first byte and
        is retried by the SDK (`max_retries`)."""
        import httpx2
        from openai import DEFAULT_CONNECTION_LIMITS as sdk

        return httpx2.Limits(max_connections=sdk.max_connections,
                             max_keepalive_connections=sdk.max_keepalive_connections, keepalive_expiry=self.keepalive)

    async def aclose(self) -> None:
        """Close this loop's HTTP session (tests and orderly shutdown)."""
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.close()

    async def stream_reply(self, request: ReplyRequest) -> LLMStream:
        import openai

        kwargs = {"model": self.model, "messages": request.messages, "stream": True,
                  "stream_options": {"include_usage": True}}
        if request.max_tokens:
            kwargs["max_tokens"] = request.max_tokens
        # The raw response, its body unread (stream=True): error statuses still
        # raise (and 429/5xx are retried) inside post(), before we see it.
        request = self.client().post("/chat/completions", cast_to=_http_response_type(), body=kwargs, stream=True)
        try:
            response = await asyncio.wait_for(request, self.first_token_timeout * (self.max_retries + 1))
        except (asyncio.TimeoutError, TimeoutError):
            raise LLMUnavailable("upstream did not answer in time") from None
        except openai.APIError as exc:
            raise LLMUnavailable(f"upstream error: {type(exc).__name__}") from exc
        return _SSEStream(response, _network_reads(response), self.first_token_timeout, self.model)

    async def complete_json(self, *, messages, schema, schema_name, scripted=None):
        import openai

        try:
            from openai.types.chat import ChatCompletion

            completion = await self.client().post("/chat/completions", cast_to=ChatCompletion, body={
                "model": self.model, "messages": messages,
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": schema_name, "schema": schema, "strict": True}},
            })
        except openai.APIError as exc:
            raise LLMUnavailable(f"upstream error: {type(exc).__name__}") from exc
        content = completion.choices[0].message.content or ""
        try:
            value = orjson.loads(content)
            jsonschema.validate(value, schema)
        except (orjson.JSONDecodeError, jsonschema.ValidationError) as exc:
            raise LLMUnavailable(f"invalid structured output for {schema_name}") from exc
        usage = completion.usage
        return value, Usage(usage.prompt_tokens, usage.completion_tokens, completion.model) if usage else None

    async def embed(self, texts: list[str]) -> list[list[float]] | None:
        import openai

        try:
            result = await self.client().embeddings.create(model=self.embedding_model, input=texts)
        except openai.APIError as exc:
            raise LLMUnavailable(f"embeddings failed: {type(exc).__name__}") from exc
        return [item.embedding for item in result.data]
