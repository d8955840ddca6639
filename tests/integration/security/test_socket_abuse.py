"""Lead-socket abuse against a real web process (uvicorn and daphne, both
servers the image runs) with the OpenAI double upstream:
an oversized message (sent compressed, as browsers and `websockets` do with
permessage-deflate) is refused before the LLM hears of it, and a visitor
token only ever opens its own conversation."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import websockets
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from tests.doubles.openai_server import OpenAIDouble
from tests.integration.conftest import ORIGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


from tests.integration.conftest import close_code as _close_code  # noqa: E402


@pytest.fixture(params=["uvicorn", "daphne"])
def web_pool(request, web_pool):
    def get(index: int = 0, **env: str):
        return web_pool(index, ASGI_SERVER=request.param, **env)

    return get


async def test_200_kb_message_is_refused_before_any_llm_call(web_pool, make_agency, session_for, lead_socket):
    double = OpenAIDouble().start()
    try:
        server = web_pool(0, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=double.base_url)
        agency = await sync_to_async(make_agency)("Big")
        session = session_for(server, agency.key.key)
        socket = await lead_socket.connect(server, session["visitor_token"])
        await socket.assistant_reply(timeout=30)  # the opening reply: the only LLM call so far
        calls = len(double.requests)
        assert calls >= 1
        negotiated = socket.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        # 200 KB of one letter deflates to a few hundred bytes on the wire.
        await socket.ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "text": "a" * 200_000}))
        code = await _close_code(socket.ws)
        assert code in (4413, 1009), (code, negotiated)  # ours, or the server's own frame cap
        assert len(double.requests) == calls

        def turns():
            from chat.models import Turn

            with scopes_disabled():
                return list(Turn.objects.filter(conversation_id=session["conversation"]).values_list("role", flat=True))

        assert "lead" not in await sync_to_async(turns)()
    finally:
        double.stop()


async def test_a_visitor_token_opens_only_its_own_conversation(web_pool, make_agency, session_for, lead_socket):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0")
    agency = await sync_to_async(make_agency)("Tokens")
    x, y = session_for(server, agency.key.key), session_for(server, agency.key.key)
    # Re-signing is impossible without the key; editing the payload breaks the signature.
    from chat.visitor import visitor_token_verify

    assert str(visitor_token_verify(x["visitor_token"]).conversation_id) == x["conversation"]
    head, _, rest = x["visitor_token"].partition(":")
    payload = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert payload["c"] == x["conversation"]
    forged_payload = base64.urlsafe_b64encode(json.dumps({**payload, "c": y["conversation"]}, separators=(",", ":"))
                                              .encode()).decode().rstrip("=")
    for token in (f"{forged_payload}:{rest}", y["visitor_token"][:-2] + "xx", "", "x" * 600):
        ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin=ORIGIN)
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert await _close_code(ws) == 4401, token[:30]
    # X's token replays X's frames only, never Y's.
    socket = await lead_socket.connect(server, x["visitor_token"])
    await socket.assistant_reply()
    other = await lead_socket.connect(server, y["visitor_token"])
    await other.assistant_reply()
    await other.say("Sí, acepto")
    await other.until_type("qualification", step="name")
    import asyncio

    await asyncio.sleep(0.5)
    while True:
        try:
            await socket.recv(0.2)
        except (asyncio.TimeoutError, TimeoutError):
            break
    assert all(f.get("type") != "qualification" or f.get("step") == "consent" for f in socket.frames)
    assert not any(f.get("type") == "message" for f in socket.frames)
    # And a visitor token is no staff credential.
    import httpx

    response = httpx.get(server.base_url + "/api/v1/conversations/",
                         headers={"Authorization": f"Bearer {x['visitor_token']}"}, timeout=10)
    assert response.status_code == 401
    await socket.close()
    await other.close()
