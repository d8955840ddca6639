"""The console's widget preview (issue 11): the service's own origin may open
widget sessions for any agency, and those never count as the widget installed."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from tests.integration.conftest import LeadSocket, close_code

pytestmark = pytest.mark.django_db


def _done(api) -> dict:
    return {s["id"]: s["done"] for s in api.get("/api/v1/agency/onboarding").json()["steps"]}


def test_own_origin_opens_a_preview_session_that_is_not_an_install(make_agency, login, client, widget_session, settings):
    from chat.services import lead_message_receive
    from chat.visitor import visitor_token_verify

    settings.PUBLIC_BASE_URL = "https://app.markezy.example"
    a = make_agency(origins=())
    assert widget_session(client, a.key.key, origin="https://cliente.example").status_code == 403
    # Another port, scheme or a subdomain of the service is somebody else's page.
    for other in ("https://app.markezy.example:8443", "http://app.markezy.example", "https://x.app.markezy.example"):
        assert widget_session(client, a.key.key, origin=other).status_code == 403, other
    session = widget_session(client, a.key.key, origin="https://app.markezy.example")
    assert session.status_code == 201, session.content
    admin, _ = login(a.admin)
    steps = _done(admin)
    assert steps["install"] is False and steps["test_chat"] is False
    lead_message_receive(visitor=visitor_token_verify(session.json()["visitor_token"]), client_id=uuid.uuid4(),
                         text="Hola")
    steps = _done(admin)
    assert steps["test_chat"] is True and steps["install"] is False
    # Staff trying the chat is no lead: a preview, out of the staff list (and so of CRM and analytics).
    from chat.models import Conversation

    conversation_id = session.json()["conversation"]
    with scopes_disabled():
        assert Conversation.objects.get(id=conversation_id).is_preview is True
    listed = [c["id"] for c in admin.get("/api/v1/conversations/").json()["results"]]
    assert conversation_id not in listed
    # The preview resumes in the preview; on the agency's site its token starts a real conversation.
    token = session.json()["visitor_token"]
    again = widget_session(client, a.key.key, origin="https://app.markezy.example", visitor_token=token)
    assert again.status_code in (200, 201) and again.json()["conversation"] == conversation_id
    assert admin.post("/api/v1/origins/", {"origin": "https://cliente.example"}, format="json").status_code == 201
    site = widget_session(client, a.key.key, origin="https://cliente.example", visitor_token=token)
    assert site.status_code == 201 and site.json()["conversation"] != conversation_id
    with scopes_disabled():
        assert Conversation.objects.get(id=site.json()["conversation"]).is_preview is False


def test_own_origin_without_public_base_url_is_the_requests(make_agency, client, widget_session, settings):
    settings.PUBLIC_BASE_URL = ""
    a = make_agency(origins=())
    assert widget_session(client, a.key.key, origin="http://testserver").status_code == 201
    assert widget_session(client, a.key.key, origin="http://testserver:8000").status_code == 403


def test_revoked_key_refused_on_the_own_origin_too(make_agency, login, client, widget_session, settings):
    settings.PUBLIC_BASE_URL = "https://app.markezy.example"
    a = make_agency(origins=())
    admin, _ = login(a.admin)
    assert admin.delete(f"/api/v1/widget-keys/{a.key.id}/").status_code == 204
    refused = widget_session(client, a.key.key, origin="https://app.markezy.example")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "invalid_key"


def test_preview_page_frames_only_in_the_console(make_agency, client, login):
    a = make_agency()
    page = client.get(f"/widget/preview/?key={a.key.key}&lang=en")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-key="{a.key.key}"' in body and "data-inline" in body and '<html lang="en">' in body
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"]
    assert "unsafe-inline" not in page["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert client.get("/widget/preview/?key=pk_unknown").status_code == 404
    admin, _ = login(a.admin)
    admin.delete(f"/api/v1/widget-keys/{a.key.id}/")
    assert client.get(f"/widget/preview/?key={a.key.key}").status_code == 404


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_socket_accepts_the_services_own_origin_only(web_pool, transactional_db, make_agency):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400")
    a = await sync_to_async(make_agency)(origins=())
    own = server.base_url
    response = await sync_to_async(httpx.post)(server.base_url + "/api/v1/widget/sessions", json={"key": a.key.key},
                                               headers={"Origin": own}, timeout=10)
    assert response.status_code == 201, response.text
    token = response.json()["visitor_token"]
    lead = await LeadSocket.connect(server, token, origin=own)
    await lead.assistant_reply()
    await lead.say("Hola")
    await lead.until_type("message", role="lead")
    await lead.close()
    ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin="https://cliente.example")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert await close_code(ws) == 4403
