"""The OpenAI provider on the real SDK (aiohttp transport, hand-parsed SSE)
against the loopback double, and the offline provider and breaker."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai import AsyncOpenAI

from chat.llm.base import LLMUnavailable, ReplyRequest
from chat.llm.breaker import CircuitBreaker
from chat.llm.offline import OfflineProvider
from chat.llm.openai_provider import OpenAIProvider
from tests.doubles.openai_server import OpenAIDouble, _words

TEXT = "Hola, soy el asistente de la agencia y te ayudo con tu estrategia de marketing digital."


@pytest.fixture
def double():
    with OpenAIDouble() as d:
        yield d


@pytest.fixture(autouse=True)
async def _close_providers():
    yield
    for p in _made:
        await p.aclose()
    _made.clear()


_made: list[OpenAIProvider] = []


def provider(double, **kw) -> OpenAIProvider:
    p = OpenAIProvider(api_key="sk-test", base_url=double.base_url, model="gpt-test", embedding_model="emb",
                          timeout=kw.pop("timeout", 5), first_token_timeout=kw.pop("first_token_timeout", 2),
                          max_retries=kw.pop("max_retries", 2), **kw)
    _made.append(p)
    return p


async def collect(stream) -> list[str]:
    return [piece async for piece in stream]


def request(text=""):
    return ReplyRequest(messages=[{"role": "user", "content": "hola"}], scripted=text)


async def test_stream_text_and_usage(double):
    double.state.tokens_per_second = 200  # about one token per network read
    double.script(text=TEXT)
    stream = await provider(double).stream_reply(request())
    pieces = await collect(stream)
    double.state.tokens_per_second = 0
    assert "".join(pieces) == TEXT and len(pieces) > 5
    # The usage is the upstream's own count. Pieces can be fewer: the tokens of one network
    # read become one delta, and on a busy machine a read can carry several.
    assert stream.usage.completion_tokens == len(_words(TEXT)) >= len(pieces)
    sent = double.requests[-1]["body"]
    # The wire body is what chat.completions.create() would send, and the SDK's headers come along.
    assert sent == {"model": "gpt-test", "messages": [{"role": "user", "content": "hola"}], "stream": True,
                    "stream_options": {"include_usage": True}}
    headers = {k.lower(): v for k, v in double.requests[-1]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-test" and headers["x-stainless-lang"] == "python"


async def test_a_compressed_stream_is_decoded_by_the_http_library(double):
    """A proxy that gzips the event stream: the raw socket reads would be
    compressed bytes, so the body is read decoded instead; same text."""
    double.state.compress_streams = True
    try:
        double.state.tokens_per_second = 200
        double.script(text=TEXT)
        stream = await provider(double).stream_reply(request())
        pieces = await collect(stream)
        assert "".join(pieces) == TEXT and stream.usage.completion_tokens > 5
    finally:
        double.state.compress_streams = False
        double.state.tokens_per_second = 0


async def test_tokens_that_arrive_together_are_one_piece(double):
    """Events read in one network read are folded into one piece (one delta
    frame per socket instead of one per token when the process lags behind);
    the text is the same, nothing lost or repeated."""
    double.script(text=TEXT)
    stream = await provider(double).stream_reply(request())
    pieces = await collect(stream)
    assert "".join(pieces) == TEXT
    assert len(pieces) < stream.usage.completion_tokens


async def test_an_idle_upstream_connection_is_kept_past_the_sdks_five_seconds(double):
    # A lead reads the reply and types for longer than the SDK's 5-s keep-alive: each turn
    # would open a new connection (a TLS handshake against OpenAI, on the streaming loop).
    from django.conf import settings

    assert settings.OPENAI_KEEPALIVE_SECONDS >= 30
    p = provider(double, keepalive=settings.OPENAI_KEEPALIVE_SECONDS)
    await collect(await p.stream_reply(request()))
    await asyncio.sleep(5.5)
    await collect(await p.stream_reply(request()))
    first, second = (r["peer"] for r in double.requests)
    assert first == second


async def test_a_connection_idle_past_the_keepalive_is_not_reused(double):
    # The counterpart of the test above: the setting is what keeps the connection.
    p = provider(double, keepalive=0.2)
    await collect(await p.stream_reply(request()))
    await asyncio.sleep(0.6)
    await collect(await p.stream_reply(request()))
    first, second = (r["peer"] for r in double.requests)
    assert first != second
    assert [r["body"]["messages"] for r in double.requests][0] == [{"role": "user", "content": "hola"}]


async def test_a_pooled_connection_the_server_closed_meanwhile_costs_the_lead_nothing():
    # The client keeps idle connections longer than this server does: the one it pooled
    # is gone by the next turn, which must still stream (a new connection, no error).
    with OpenAIDouble(idle_timeout=0.2) as short:
        p = provider(short, keepalive=60)
        short.script(text="uno")
        assert await collect(await p.stream_reply(request())) == ["uno"]
        await asyncio.sleep(0.6)
        short.script(text="dos")
        assert await collect(await p.stream_reply(request())) == ["dos"]
        first, second = (r["peer"] for r in short.requests)
        assert first != second
        await p.aclose()


async def test_a_finished_stream_returns_its_connection_to_the_pool(double):
    # The body's end comes in a read of its own, after [DONE]: closing the response
    # before it would close the connection, and every turn would open a new one.
    double.state.end_delay = 0.5
    double.script(text="uno dos")
    p = provider(double)
    stream = await p.stream_reply(request())
    started = time.monotonic()
    pieces = await collect(stream)
    await stream.aclose()
    assert "".join(pieces) == "uno dos"
    assert time.monotonic() - started < 0.3  # the reply does not wait for the body's end
    await asyncio.sleep(0.7)
    await collect(await p.stream_reply(request()))
    first, second = (r["peer"] for r in double.requests)
    assert first == second


async def test_429_is_retried_by_the_sdk_then_succeeds(double):
    double.fail("429", times=2, retry_after=0.05)
    double.script(text=TEXT)
    pieces = await collect(await provider(double).stream_reply(request()))
    assert "".join(pieces) == TEXT
    assert len(double.requests) == 3


async def test_persistent_500_is_unavailable_after_retries(double):
    double.fail("500", times=10)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable):
        await collect(await provider(double, max_retries=2).stream_reply(request()))
    assert len(double.requests) == 3
    assert time.monotonic() - started < 10


async def test_timeout_before_first_byte(double):
    double.fail("timeout", delay=10)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable):
        await collect(await provider(double, timeout=1, first_token_timeout=1, max_retries=0).stream_reply(request()))
    assert time.monotonic() - started < 5


async def test_stream_cut_mid_way_yields_then_fails(double):
    double.state.tokens_per_second = 100  # pieces reach the client before the cut
    double.fail("cut", after_chunks=4)
    double.script(text=TEXT)
    stream = await provider(double).stream_reply(request())
    got = []
    with pytest.raises(LLMUnavailable):
        async for piece in stream:
            got.append(piece)
    assert 1 <= len(got) <= 4
    assert TEXT.startswith("".join(got))
    double.state.tokens_per_second = 0


async def test_aclose_mid_stream_is_fast(double):
    double.state.tokens_per_second = 10
    double.script(text=TEXT)
    stream = await provider(double).stream_reply(request())
    await stream.__anext__()
    started = time.monotonic()
    await stream.aclose()
    assert time.monotonic() - started < 0.1
    double.state.tokens_per_second = 0


async def test_complete_json_valid_and_invalid(double):
    schema = {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"],
              "additionalProperties": False}
    double.script(json={"email": "ana@x.es"})
    value, usage = await provider(double).complete_json(messages=[{"role": "user", "content": "x"}], schema=schema,
                                                        schema_name="extraction")
    assert value == {"email": "ana@x.es"} and usage.completion_tokens >= 1
    assert double.requests[-1]["body"] == {
        "model": "gpt-test", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "extraction", "schema": schema, "strict": True}}}
    double.fail("invalid_json")
    with pytest.raises(LLMUnavailable):
        await provider(double).complete_json(messages=[], schema=schema, schema_name="extraction")
    double.script(json={"nope": 1})
    with pytest.raises(LLMUnavailable):
        await provider(double).complete_json(messages=[], schema=schema, schema_name="extraction")


async def test_embeddings_base64_and_float_agree(double):
    p = provider(double)
    vectors = await p.embed(["precios de SEO", "casos de éxito"])  # the SDK asks for base64 by default
    assert double.requests[-1]["body"].get("encoding_format") == "base64"
    client = AsyncOpenAI(api_key="sk-test", base_url=double.base_url)
    floats = await client.embeddings.create(model="emb", input=["precios de SEO", "casos de éxito"], encoding_format="float")
    for a, b in zip(vectors, [d.embedding for d in floats.data]):
        assert a == pytest.approx(b, abs=1e-6)


async def test_double_chunks_are_valid_sdk_objects_including_tool_calls(double):
    """The SDK's own parser accepts the double's stream: it speaks the real API."""
    client = AsyncOpenAI(api_key="sk-test", base_url=double.base_url)
    double.script(tool_call={"name": "record_answer", "arguments": {"field": "email", "value": "a@b.es"}})
    stream = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}],
                                                  stream=True, tools=[{"type": "function", "function": {
                                                      "name": "record_answer", "parameters": {"type": "object"}}}])
    arguments, finish = "", None
    async for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                arguments += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert arguments == '{"field": "email", "value": "a@b.es"}'
    double.script(text="Hola")
    completion = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].message.content == "Hola"


async def test_missing_key_is_401_like_the_api(double):
    import httpx

    async with httpx.AsyncClient() as client:
        response = await client.post(double.base_url + "/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    client = AsyncOpenAI(api_key="sk-test", base_url=double.base_url, max_retries=0,
                         default_headers={"Authorization": "Basic nope"})
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


async def test_many_concurrent_streams(double):
    double.state.tokens_per_second = 60
    p = provider(double)
    async def one() -> list[str]:
        return await collect(await p.stream_reply(request()))

    results = await asyncio.gather(*(one() for _ in range(100)))
    double.state.tokens_per_second = 0
    expected = "De acuerdo, sigamos con la siguiente pregunta."
    assert all("".join(r) == expected for r in results)


async def test_offline_provider_streams_scripted_text_at_its_pace():
    stream = await OfflineProvider(tokens_per_second=50).stream_reply(request(TEXT))
    started = time.monotonic()
    pieces = await collect(stream)
    assert "".join(pieces) == TEXT
    assert time.monotonic() - started >= (len(pieces) - 1) / 50 * 0.9
    fast = await collect(await OfflineProvider(tokens_per_second=0).stream_reply(request(TEXT)))
    assert "".join(fast) == TEXT


def test_breaker_opens_half_opens_and_closes():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, cooldown=30, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allow("a")
        breaker.record_failure("a")
    assert breaker.state("a") == "open" and not breaker.allow("a")
    assert breaker.allow("b")  # per agency
    now[0] = 31
    assert breaker.state("a") == "half_open"
    assert breaker.allow("a") and not breaker.allow("a")  # one trial at a time
    breaker.record_failure("a")
    assert breaker.state("a") == "open"
    now[0] = 62
    assert breaker.allow("a")
    breaker.record_success("a")
    assert breaker.state("a") == "closed"
