"""A socket that closes mid-reply (a lead reloading the page) is that
socket's end, never the turn's: the reply goes on to every other socket and
is stored. And a turn whose runner fails unexpectedly is stored as failed
and stops being offered as "still streaming" to sockets that join later."""

from __future__ import annotations

import json

import pytest
from channels.layers import InMemoryChannelLayer

import chat.streaming as streaming
from chat.hub import Hub, LiveTurn, Sink
from chat.services import ReplyPlan


class Socket:
    def __init__(self):
        self.sent: list[dict] = []

    async def __call__(self, text: str) -> None:
        self.sent.append(json.loads(text))


class ClosedSocket:
    """What uvicorn does between a client's disconnect and the consumer's
    disconnect handler: every send raises (uvicorn's ClientDisconnected is an OSError)."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, text: str) -> None:
        self.calls += 1
        raise OSError("client disconnected")


async def _nothing() -> None:
    return None


def _local_hub() -> Hub:
    hub = Hub()
    hub.layer = InMemoryChannelLayer()  # one process: nothing to fan out
    hub.start = _nothing
    return hub


async def _live_sink(hub: Hub, socket, conversation: str = "c1") -> Sink:
    sink = Sink(socket, conversation)
    await sink.go_live([], None)
    hub.sinks[conversation].add(sink)
    return sink


def _text(frames, turn):
    return "".join(f["text"] for f in frames if f["type"] == "turn.delta" and f["turn"] == turn)


async def test_a_closed_socket_does_not_end_the_stream_to_the_others():
    hub = _local_hub()
    good, closed = Socket(), ClosedSocket()
    await _live_sink(hub, good)
    gone = await _live_sink(hub, closed)
    turn = await hub.turn_started("c1", "t1", "assistant")
    for piece in ["Hola", ", ", "¿qué", " tal?"]:
        await hub.turn_delta("c1", turn, piece)
    await hub.publish("c1", "a1", [{"seq": 1, "type": "turn.completed", "turn": "t1", "text": turn.text}])

    assert _text(good.sent, "t1") == "Hola, ¿qué tal?"
    assert good.sent[-1]["type"] == "turn.completed"
    assert gone.gone and closed.calls == 1  # tried once, then left alone until its disconnect detaches it


async def test_a_sink_whose_socket_closed_swallows_persisted_frames():
    closed = ClosedSocket()
    sink = Sink(closed, "c1")
    await sink.go_live([{"seq": 1, "type": "message", "text": "hola"}], None)
    await sink.deliver({"seq": 2, "type": "qualification"})
    assert sink.gone and closed.calls == 1


class _Breaks:
    """A provider whose stream fails in a way nobody planned for, after two pieces."""

    name = "offline"

    async def stream_reply(self, request):
        return self

    def __aiter__(self):
        self.pieces = iter(["Hola", " Ana"])
        return self

    async def __anext__(self):
        try:
            return next(self.pieces)
        except StopIteration:
            raise RuntimeError("a bug, not an LLM outage") from None

    async def aclose(self) -> None:
        return None


@pytest.fixture
def runner_hub(monkeypatch):
    hub = _local_hub()
    monkeypatch.setattr(streaming, "hub", hub)
    monkeypatch.setattr("chat.llm.registry.provider_for_agency", lambda settings: _Breaks())
    return hub


def _runner() -> streaming.TurnRunner:
    plan = ReplyPlan(messages=[], scripted="Hola Ana")
    return streaming.TurnRunner(conversation_id="c1", agency_id="a1", plan=plan, agency_settings={}, origin_patterns=[])


async def test_an_unexpected_failure_stores_what_was_streamed_as_failed(runner_hub, monkeypatch):
    stored = []

    async def store(self, turn, provider_name, *, stopped, failed, **_):
        stored.append((turn.text, stopped, failed))
        turn.stored = True
        await runner_hub.turn_finished(self.conversation_id, turn)

    monkeypatch.setattr(streaming.TurnRunner, "_store", store)
    with pytest.raises(RuntimeError):
        await _runner().run()
    assert stored == [("Hola Ana", True, True)]
    assert runner_hub.live_turn("c1") is None


async def test_when_even_storing_fails_the_turn_is_no_longer_offered_as_live(runner_hub, monkeypatch):
    async def store(self, turn, provider_name, **_):
        raise ConnectionError("database away")

    monkeypatch.setattr(streaming.TurnRunner, "_store", store)
    with pytest.raises(RuntimeError):
        await _runner().run()
    assert runner_hub.live_turn("c1") is None
