"""The lead socket (CONTRACT §3.1) against real web processes, MariaDB and
Redis: every test on both servers the image can run (uvicorn, its default,
and daphne), since close codes, frame limits and Origin handling are the
server's business before they are the app's."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import websockets
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

FAST = {"OFFLINE_TOKENS_PER_SECOND": "400"}
SLOW = {"OFFLINE_TOKENS_PER_SECOND": "12"}


from tests.integration.conftest import close_code as _close_code  # noqa: E402


@pytest.fixture(params=["uvicorn", "daphne"])
def web_pool(request, web_pool):
    def get(index: int = 0, **env: str):
        return web_pool(index, ASGI_SERVER=request.param, **env)

    return get


@sync_to_async
def _turns(conversation_id):
    from chat.models import Turn

    with scopes_disabled():
        return list(Turn.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("role", "text", "seq", "stopped"))


@sync_to_async
def _events(conversation_id):
    from chat.models import ConversationEvent

    with scopes_disabled():
        return list(ConversationEvent.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("seq", "type"))


async def test_opening_reply_streams_and_is_stored_once(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    started = await lead.until_type("turn.started")
    assert started["role"] == "assistant"
    completed = await lead.assistant_reply()
    assert completed["stopped"] is False
    assert lead.streamed_text(completed["turn"]) == completed["text"]
    assert "privacidad" in completed["text"].lower() or "acept" in completed["text"].lower()
    qualification = next(f for f in lead.frames if f.get("type") == "qualification")
    assert qualification["step"] == "consent"
    seqs = [f["seq"] for f in lead.frames if "seq" in f]
    assert seqs == list(range(1, len(seqs) + 1))
    turns = await _turns(session["conversation"])
    assert [t[:2] for t in turns] == [("assistant", completed["text"])]
    await lead.close()


async def test_message_ack_and_idempotent_resend(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    client_id = await lead.say("Sí, acepto")
    ack = await lead.until_type("message")
    assert ack["client_id"] == client_id and ack["role"] == "lead" and ack["text"] == "Sí, acepto"
    await lead.assistant_reply()
    # Resent after a "reconnect": the stored frame again, nothing new stored.
    await lead.say("Sí, acepto", client_id=client_id)
    again = await lead.until_type("message")
    assert again == ack
    # A second socket of the same visitor resending concurrently: still one row.
    other = await lead_socket.connect(server, session["visitor_token"])
    await asyncio.gather(lead.say("Sí, acepto", client_id=client_id), other.say("Sí, acepto", client_id=client_id))
    await other.until(lambda f: f.get("type") == "message" and f.get("client_id") == client_id)
    turns = await _turns(session["conversation"])
    assert [t for t in turns if t[0] == "lead"] == [("lead", "Sí, acepto", ack["seq"], False)]
    await lead.close()
    await other.close()


async def test_concurrent_new_messages_from_two_sockets_get_unique_seqs(web_pool, transactional_db, make_agency,
                                                                        session_for, lead_socket):
    server, server2 = web_pool(0, **FAST), web_pool(1, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    one = await lead_socket.connect(server, session["visitor_token"])
    await one.assistant_reply()
    two = await lead_socket.connect(server2, session["visitor_token"])
    # Three: the per-conversation burst allowance.
    ids = [str(uuid.uuid4()) for _ in range(3)]
    await asyncio.gather(*(sock.say(t, client_id=i) for sock, t, i in zip([one, two, one], ["sí", "hola", "vale"], ids)))
    await asyncio.sleep(1.5)
    events = await _events(session["conversation"])
    seqs = [s for s, _ in events]
    assert seqs == list(range(1, len(seqs) + 1)), "seq has a gap or repeat"
    assert len([t for t in events if t[1] == "message"]) == 3
    await one.close()
    await two.close()


async def test_auth_errors_and_timeout(web_pool, transactional_db, make_agency, session_for):
    server = web_pool(0, CHAT_AUTH_TIMEOUT_SECONDS="1", **FAST)
    a = await sync_to_async(make_agency)()
    session_for(server, a.key.key)
    ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin="https://cliente.example")
    assert await _close_code(ws) == 4408
    ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin="https://cliente.example")
    await ws.send(json.dumps({"type": "auth", "token": "forged"}))
    assert await _close_code(ws) == 4401
    ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin="https://cliente.example")
    await ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "hola"}))
    assert await _close_code(ws) == 4401


@pytest.mark.parametrize("origin", [None, "https://evil.test", "http://cliente.example", "https://cliente.example.evil.test"])
async def test_origin_refused_with_4403(web_pool, transactional_db, make_agency, session_for, origin):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin=origin)
    try:
        await ws.send(json.dumps({"type": "auth", "token": session["visitor_token"]}))
    except websockets.ConnectionClosed:
        pass
    assert await _close_code(ws) == 4403


async def test_bad_frames_too_long_and_too_large(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    for raw in ["not json", "[1,2]", json.dumps({"type": "nope"}), json.dumps({"type": "message", "text": "x"}),
                json.dumps({"type": "message", "client_id": "not-a-uuid", "text": "x"}),
                json.dumps({"type": "edit"}), json.dumps({"type": "consent", "granted": "yes"})]:
        await lead.ws.send(raw)
        error = await lead.until_type("error")
        assert error["code"] == "bad_frame", raw
    await lead.say("a" * 2001)
    assert (await lead.until_type("error"))["code"] == "too_long"
    before = await _turns(session["conversation"])
    await lead.ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "b" * 17000}))
    assert await _close_code(lead.ws) == 4413
    assert await _turns(session["conversation"]) == before


async def test_rate_limit_then_4429(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    await lead.assistant_reply()
    codes = []
    for i in range(12):
        try:
            await lead.say(f"mensaje {i}")
        except websockets.ConnectionClosed:
            break
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            frame = await lead.recv(10)
            if frame.get("type") == "error":
                codes.append(frame["code"])
    assert codes and set(codes) == {"rate_limited"}
    assert closed.value.rcvd.code == 4429
    stored = [t for t in await _turns(session["conversation"]) if t[0] == "lead"]
    assert len(stored) == 3  # the burst; nothing accepted was lost


async def test_stop_ends_within_100ms_and_keeps_partial(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    started = await lead.until_type("turn.started")
    await lead.until(lambda f: f.get("type") == "turn.delta" and f["offset"] > 10)
    sent_at = time.monotonic()
    await lead.send({"type": "stop"})
    completed = await lead.until_type("turn.completed")
    assert time.monotonic() - sent_at < 0.5
    assert completed["stopped"] is True and completed["turn"] == started["turn"]
    streamed = lead.streamed_text(started["turn"])
    assert completed["text"] == streamed
    deltas_after = [f for f in lead.frames[lead.frames.index(completed):] if f.get("type") == "turn.delta"]
    assert not deltas_after
    turns = await _turns(session["conversation"])
    assert turns[-1][1] == streamed and turns[-1][3] is True


async def test_two_sockets_receive_identical_stream(web_pool, transactional_db, make_agency, session_for, lead_socket):
    server = web_pool(0, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    one = await lead_socket.connect(server, session["visitor_token"])
    await one.until_type("turn.started")
    two = await lead_socket.connect(server, session["visitor_token"])
    done_one = await one.assistant_reply(30)
    done_two = await two.assistant_reply(30)
    assert done_one == done_two
    assert one.streamed_text(done_one["turn"]) == two.streamed_text(done_two["turn"]) == done_one["text"]


async def test_reconnect_after_five_deltas_resumes_without_gap_or_duplicate(web_pool, transactional_db, make_agency,
                                                                            session_for, lead_socket):
    server = web_pool(0, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    steady = await lead_socket.connect(server, session["visitor_token"])
    flaky = await lead_socket.connect(server, session["visitor_token"])
    for _ in range(5):
        await flaky.until_type("turn.delta")
    await flaky.close()
    resumed = await lead_socket.connect(server, session["visitor_token"], last_seq=flaky.last_seq())
    resumed.frames = flaky.frames + resumed.frames  # the client's memory spans the reconnect
    done = await steady.assistant_reply(30)
    await resumed.assistant_reply(30)
    assert resumed.streamed_text(done["turn"]) == done["text"]
    persisted = lambda sock: [(f["seq"], f["type"]) for f in sock.frames if "seq" in f]  # noqa: E731
    assert persisted(resumed) == persisted(steady)


async def test_two_processes_serve_one_conversation(web_pool, transactional_db, make_agency, session_for, lead_socket):
    p1, p2 = web_pool(0, **SLOW), web_pool(1, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(p1, a.key.key)
    lead = await lead_socket.connect(p1, session["visitor_token"])
    await lead.until_type("turn.delta")
    second = await lead_socket.connect(p2, session["visitor_token"])
    done = await lead.assistant_reply(30)
    done2 = await second.assistant_reply(30)
    assert done2 == done
    assert second.streamed_text(done["turn"]) == done["text"]
    await second.say("Sí, acepto")
    ack = await lead.until_type("message")
    ack2 = await second.until_type("message")
    assert ack == ack2 and ack["seq"] == done["seq"] + 1
    reply = await lead.assistant_reply(30)
    assert (await second.assistant_reply(30)) == reply
    assert [f["seq"] for f in second.frames if "seq" in f] == list(range(1, reply["seq"] + 1))


async def test_no_database_write_per_delta(web_pool, transactional_db, make_agency, session_for, lead_socket):
    import MySQLdb
    from django.conf import settings

    server = web_pool(0, **SLOW)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    db = settings.DATABASES["default"]

    def writes() -> int:
        conn = MySQLdb.connect(host=db["HOST"], port=int(db["PORT"]), user=db["USER"], passwd=db["PASSWORD"])
        try:
            cur = conn.cursor()
            cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert','Com_update','Com_delete')")
            return sum(int(v) for _, v in cur.fetchall())
        finally:
            conn.close()

    lead = await lead_socket.connect(server, session["visitor_token"])
    # The opening reply is long; count writes from its first delta to its end.
    await lead.until_type("turn.delta")
    before = writes()
    completed = await lead.assistant_reply(30)
    after = writes()
    deltas = [f for f in lead.frames if f.get("type") == "turn.delta" and f["turn"] == completed["turn"]]
    assert len(deltas) >= 8
    assert after - before <= 6, f"{after - before} writes for {len(deltas)} deltas"


async def test_frames_are_not_compressed_even_when_the_browser_offers_it(web_pool, transactional_db, make_agency,
                                                                        session_for, lead_socket):
    """Browsers always offer permessage-deflate; accepted, every socket would
    keep a zlib compressor and decompressor (~40 KB held per idle lead socket,
    against the 30 KB target, bench/README.md) and compress every ~100-byte
    token frame. Both servers answer the offer without the extension."""
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    lead = await lead_socket.connect(server, session["visitor_token"])
    offered = lead.ws.request.headers.get("Sec-WebSocket-Extensions") or ""
    assert "permessage-deflate" in offered
    assert lead.ws.response.headers.get("Sec-WebSocket-Extensions") is None
    completed = await lead.assistant_reply()
    assert lead.streamed_text(completed["turn"]) == completed["text"]
    await lead.close()
