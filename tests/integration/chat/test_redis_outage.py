"""A Redis restart under a live conversation: the lead's socket, its
messages and the assistant's replies go on within the web process (the
channel layer, the rate limit and the LLM quota are Redis's; none of them
may stop a lead), and the process's fan-out resumes once Redis is back."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from tests.doubles.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def redis_proxy():
    url = urlsplit(os.environ["REDIS_URL"])
    proxy = TcpProxy(url.hostname, url.port).start()
    proxy.url = f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"
    yield proxy
    proxy.stop()


@sync_to_async
def _stored(conversation_id):
    from chat.models import Turn

    with scopes_disabled():
        return list(Turn.objects.filter(conversation_id=conversation_id).order_by("seq").values_list("role", "text"))


async def test_a_redis_restart_does_not_stop_a_conversation(web_pool, transactional_db, make_agency, session_for,
                                                           lead_socket, redis_proxy):
    server = web_pool(0, REDIS_URL=redis_proxy.url, OFFLINE_TOKENS_PER_SECOND="60")
    a = await sync_to_async(make_agency)()
    session = session_for(server, a.key.key)
    token = session["visitor_token"]
    lead = await lead_socket.connect(server, token)
    await lead.assistant_reply(30)

    redis_proxy.cut()
    consent = await lead.say("sí, acepto")
    ack = await lead.until(lambda f: f.get("type") == "message" and f.get("client_id") == consent)
    reply = await lead.until(lambda f: f.get("type") == "turn.completed" and f["seq"] > ack["seq"], 30)
    assert "llamas" in reply["text"]
    # A second tab opened meanwhile authenticates and gets the whole conversation.
    tab = await lead_socket.connect(server, token)
    await tab.until(lambda f: f.get("seq") == reply["seq"])

    redis_proxy.restore()
    await asyncio.sleep(1)
    name = await lead.say("Me llamo Ana López")
    ack = await lead.until(lambda f: f.get("type") == "message" and f.get("client_id") == name)
    await lead.until(lambda f: f.get("type") == "turn.completed" and f["seq"] > ack["seq"], 30)
    await tab.until(lambda f: f.get("type") == "message" and f.get("client_id") == name)

    turns = await _stored(session["conversation"])
    assert [role for role, _ in turns] == ["assistant", "lead", "assistant", "lead", "assistant"]
