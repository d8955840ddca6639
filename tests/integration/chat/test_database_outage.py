"""A database restart under a live conversation (CONTRACT §3.1; close code
1013 in docs/contract-extensions.md). The web process reaches MariaDB
through a proxy that drops every connection and refuses new ones, as a
restart does, while the rest of the suite keeps its database."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from tests.doubles.tcp_proxy import TcpProxy
from tests.integration.conftest import _test_database_url, close_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def database_proxy():
    url = urlsplit(_test_database_url())
    proxy = TcpProxy(url.hostname, url.port).start()
    proxy.url = urlunsplit(url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{proxy.port}"))
    yield proxy
    proxy.stop()


@sync_to_async
def _stored(conversation_id):
    from chat.models import ConversationEvent, Turn

    with scopes_disabled():
        turns = list(Turn.objects.filter(conversation_id=conversation_id).order_by("seq")
                     .values_list("role", "client_id", "stopped", "failed", "text"))
        seqs = list(ConversationEvent.objects.filter(conversation_id=conversation_id).order_by("seq")
                    .values_list("seq", flat=True))
    return turns, seqs


async def test_a_database_restart_loses_no_reply_and_no_message(web_pool, transactional_db, make_agency, session_for,
                                                               lead_socket, database_proxy):
    server = web_pool(0, DATABASE_URL=database_proxy.url, OFFLINE_TOKENS_PER_SECOND="5", CHAT_RATE_BURST="100")
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    token = session["visitor_token"]
    lead = await lead_socket.connect(server, token)
    await lead.assistant_reply(30)

    consent = await lead.say("sí, acepto")
    ack = await lead.until(lambda f: f.get("type") == "message" and f.get("client_id") == consent)
    streaming = await lead.until_type("turn.started")
    database_proxy.cut()

    # A message while the database is away cannot be stored: the socket asks the
    # client to come back later (1013) instead of failing it, and nothing half-done is kept.
    name = str(uuid.uuid4())
    await lead.send({"type": "message", "client_id": name, "text": "Me llamo Ana López"})
    assert await close_code(lead.ws) == 1013

    # The reply goes on streaming meanwhile (no database per token) and is stored once the database is back.
    await asyncio.sleep(2)
    database_proxy.restore()
    back = await lead_socket.connect(server, token, last_seq=ack["seq"])
    done = await back.until(lambda f: f.get("type") == "turn.completed" and f["turn"] == streaming["turn"], 40)
    assert done["stopped"] is False and not done.get("failed") and done["text"]

    # The client resends what was never acknowledged: stored once, and the flow goes on.
    await back.send({"type": "message", "client_id": name, "text": "Me llamo Ana López"})
    stored = await back.until(lambda f: f.get("type") == "message" and f.get("client_id") == name)
    await back.until(lambda f: f.get("type") == "qualification" and f["answers"].get("name") == "Ana López")
    await back.until(lambda f: f.get("type") == "turn.completed" and f["seq"] > stored["seq"], 40)

    turns, seqs = await _stored(session["conversation"])
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no repeat
    leads = [t for t in turns if t[0] == "lead"]
    assert [str(t[1]) for t in leads] == [consent, name]
    replies = [t for t in turns if t[0] == "assistant"]
    assert len(replies) == 3 and not any(t[2] or t[3] for t in replies)
    assert replies[1][4] == done["text"]
