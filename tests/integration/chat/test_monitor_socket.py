"""The staff socket (CONTRACT §4): live list per agency, subscribe with replay
and live deltas (also from another process), takeover races, notes."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
import websockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

SLOW = {"OFFLINE_TOKENS_PER_SECOND": "12"}
FAST = {"OFFLINE_TOKENS_PER_SECOND": "400"}


class Monitor:
    def __init__(self, ws):
        self.ws = ws
        self.frames: list[dict] = []

    @classmethod
    async def connect(cls, server, access: str) -> "Monitor":
        ws = await websockets.connect(server.ws_url + "/ws/v1/monitor", max_size=2**22)
        await ws.send(json.dumps({"type": "auth", "token": access}))
        monitor = cls(ws)
        await monitor.until(lambda f: f.get("type") == "ready")
        return monitor

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def until(self, predicate, timeout=20):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out; last frames {self.frames[-6:]}")
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            self.frames.append(frame)
            if predicate(frame):
                return frame

    def streamed_text(self, conversation, turn):
        text = ""
        for f in self.frames:
            if f.get("type") == "turn.delta" and f.get("conversation") == conversation and f["turn"] == turn:
                if f["offset"] + len(f["text"]) > len(text):
                    assert f["offset"] <= len(text), "gap"
                    text = text[: f["offset"]] + f["text"]
        return text


async def _agent_and_admin_on_two_processes(web_pool, env, make_agency, access_token, session_for):
    """A conversation opened on process 1, its agency's agent watching from
    process 1 and its admin from process 2."""
    p1, p2 = web_pool(0, **env), web_pool(1, **env)
    a = await sync_to_async(make_agency)()
    session = session_for(p1, a.key.key)
    agent = await Monitor.connect(p1, await sync_to_async(access_token)(a.agent))
    admin = await Monitor.connect(p2, await sync_to_async(access_token)(a.admin))
    return p1, a, session, session["conversation"], agent, admin


@pytest.fixture
def access_token(login):
    def get(user):
        return login(user)[1]["access"]

    return get


async def test_live_list_only_own_agency(web_pool, transactional_db, two_agencies, access_token, session_for, lead_socket):
    server = web_pool(0, **FAST)
    a, b = two_agencies
    monitor_a = await Monitor.connect(server, await sync_to_async(access_token)(a.viewer))
    session_b = session_for(server, b.key.key)
    lead_b = await lead_socket.connect(server, session_b["visitor_token"])
    await lead_b.assistant_reply()
    session_a = session_for(server, a.key.key)
    lead_a = await lead_socket.connect(server, session_a["visitor_token"])
    await lead_a.assistant_reply()
    update = await monitor_a.until(lambda f: f.get("type") == "conversation.updated")
    await asyncio.sleep(0.5)
    seen = {f["conversation"]["id"] for f in monitor_a.frames if f.get("type") == "conversation.updated"}
    assert session_a["conversation"] in seen
    assert session_b["conversation"] not in seen
    assert update["conversation"]["status"] == "open"


async def test_subscribe_other_agency_is_not_found(web_pool, transactional_db, two_agencies, access_token, session_for):
    server = web_pool(0, **FAST)
    a, b = two_agencies
    session_b = session_for(server, b.key.key)
    monitor_a = await Monitor.connect(server, await sync_to_async(access_token)(a.owner))
    await monitor_a.send({"type": "subscribe", "conversation": session_b["conversation"]})
    error = await monitor_a.until(lambda f: f.get("type") == "error")
    assert error["code"] == "not_found"


async def test_staff_on_other_process_sees_whole_stream(web_pool, transactional_db, make_agency, access_token,
                                                        session_for, lead_socket):
    p1, p2 = web_pool(0, **SLOW), web_pool(1, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(p1, a.key.key)
    conv = session["conversation"]
    monitor = await Monitor.connect(p2, await sync_to_async(access_token)(a.viewer))
    lead = await lead_socket.connect(p1, session["visitor_token"])
    await lead.until(lambda f: f.get("type") == "turn.delta" and f["offset"] > 0)
    await monitor.send({"type": "subscribe", "conversation": conv})
    done = await lead.assistant_reply(30)
    watched = await monitor.until(lambda f: f.get("type") == "turn.completed" and f.get("conversation") == conv, 30)
    assert watched["text"] == done["text"]
    assert monitor.streamed_text(conv, done["turn"]) == done["text"]
    # And the next reply, watched from the start, arrives live too.
    await lead.say("Sí, acepto")
    nxt = await lead.assistant_reply(30)
    await monitor.until(lambda f: f.get("type") == "turn.completed" and f.get("turn") == nxt["turn"], 30)
    assert monitor.streamed_text(conv, nxt["turn"]) == nxt["text"]
    deltas = [f for f in monitor.frames if f.get("type") == "turn.delta" and f["turn"] == nxt["turn"]]
    assert len(deltas) >= 2, "deltas should arrive live (batched), not only with the completed turn"


async def test_takeover_race_one_winner_and_no_token_after(web_pool, transactional_db, make_agency, access_token,
                                                           session_for, lead_socket):
    p1, a, session, conv, agent1, agent2 = await _agent_and_admin_on_two_processes(
        web_pool, SLOW, make_agency, access_token, session_for)
    lead = await lead_socket.connect(p1, session["visitor_token"])
    # Take over while the (long) opening reply is streaming.
    await lead.until(lambda f: f.get("type") == "turn.delta" and f["offset"] > 5, 30)
    await asyncio.gather(agent1.send({"type": "takeover", "conversation": conv}),
                         agent2.send({"type": "takeover", "conversation": conv}))
    results = await asyncio.gather(
        agent1.until(lambda f: f.get("type") in ("takeover.ok", "error")),
        agent2.until(lambda f: f.get("type") in ("takeover.ok", "error")),
    )
    kinds = sorted(r["type"] for r in results)
    assert kinds == ["error", "takeover.ok"]
    assert next(r for r in results if r["type"] == "error")["code"] == "already_owned"
    handoff = await lead.until_type("handoff", active=True)
    index = lead.frames.index(handoff)
    await asyncio.sleep(1.0)
    while True:
        try:
            await lead.recv(0.5)
        except (asyncio.TimeoutError, TimeoutError):
            break
    after = lead.frames[index + 1:]
    assert not [f for f in after if f.get("type") == "turn.delta"], after
    stopped = [f for f in lead.frames if f.get("type") == "turn.completed" and f.get("stopped")]
    assert stopped and stopped[-1]["text"] == lead.streamed_text(stopped[-1]["turn"])
    # The lead speaks during the takeover: the assistant stays silent.
    await lead.say("¿Hay alguien ahí?")
    await lead.until_type("message")
    with pytest.raises(AssertionError, match="timed out"):
        await lead.until(lambda f: f.get("type") == "turn.started", timeout=2)


async def test_agent_reply_notes_and_release(web_pool, transactional_db, make_agency, access_token, session_for,
                                             lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    conv = session["conversation"]
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    viewer = await Monitor.connect(server, await sync_to_async(access_token)(a.viewer))
    await viewer.send({"type": "takeover", "conversation": conv})
    assert (await viewer.until(lambda f: f.get("type") == "error"))["code"] == "forbidden"
    await viewer.send({"type": "note", "conversation": conv, "text": "x"})
    assert (await viewer.until(lambda f: f.get("type") == "error"))["code"] == "forbidden"

    agent = await Monitor.connect(server, await sync_to_async(access_token)(a.agent))
    await agent.send({"type": "subscribe", "conversation": conv})
    await agent.send({"type": "takeover", "conversation": conv})
    await agent.until(lambda f: f.get("type") == "takeover.ok")
    await lead.until_type("handoff", active=True)
    await agent.send({"type": "note", "conversation": conv, "text": "Cliente con prisa, llamar mañana"})
    note = await agent.until(lambda f: f.get("type") == "note")
    assert note["text"] == "Cliente con prisa, llamar mañana" and note["conversation"] == conv
    await agent.send({"type": "message", "conversation": conv, "text": "Hola, soy Marta del equipo."})
    started = await lead.until_type("turn.started", role="agent")
    reply = await lead.until_type("turn.completed", role="agent")
    assert reply["text"] == "Hola, soy Marta del equipo." and reply["turn"] == started["turn"]
    # The lead accepts consent while talking to a human; release resumes the flow.
    await lead.say("Sí, acepto")
    await lead.until_type("message")
    await agent.send({"type": "release", "conversation": conv})
    await lead.until_type("handoff", active=False)
    resumed = await lead.assistant_reply()
    qualification = [f for f in lead.frames if f.get("type") == "qualification"][-1]
    assert qualification["step"] == "name", qualification
    assert resumed["text"]
    assert not [f for f in lead.frames if f.get("type") == "note"]
    # A fresh replay for the lead has no note either; staff's replay does.
    replayed = await lead_socket.connect(server, session["visitor_token"], last_seq=0)
    await replayed.until(lambda f: f.get("seq") == resumed["seq"])
    assert not [f for f in replayed.frames if f.get("type") == "note"]


async def test_presence_across_processes(web_pool, transactional_db, make_agency, access_token, session_for, lead_socket):
    p1, a, session, conv, agent, admin = await _agent_and_admin_on_two_processes(
        web_pool, FAST, make_agency, access_token, session_for)
    await agent.send({"type": "subscribe", "conversation": conv})
    first = await agent.until(lambda f: f.get("type") == "presence")
    assert [w["name"] for w in first["watchers"]] == ["Agent Agencia"] and first["conversation"] == conv
    await admin.send({"type": "subscribe", "conversation": conv})
    both = await agent.until(lambda f: f.get("type") == "presence" and len(f["watchers"]) == 2)
    assert {w["name"] for w in both["watchers"]} == {"Agent Agencia", "Admin Agencia"}
    await admin.ws.close()
    alone = await agent.until(lambda f: f.get("type") == "presence" and len(f["watchers"]) == 1)
    assert alone["watchers"][0]["name"] == "Agent Agencia"
    # Leads never see who is watching.
    lead = await lead_socket.connect(p1, session["visitor_token"])
    await lead.assistant_reply()
    assert not [f for f in lead.frames if f.get("type") == "presence"]
