"""Previewing a flow version from the console (issue 11): an admin opens a
real conversation on a draft (or a published version) with the staff token,
shaped like a widget session; its lead socket is the widget's, on this
service's own origin; and the conversation is no lead anywhere that matters
(no CRM, webhooks, strategy, analytics, staff list)."""

from __future__ import annotations

import copy
import json
from urllib.parse import unquote

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from qualification.flows import load_default_flow
from tests.integration.conftest import close_code
from tests.integration.leads import SCRIPT, open_conversation, say

EMPLOYEES = {"field": "employees", "type": "number", "required": True,
             "prompt": {"es": "¿Cuántos empleados tiene tu empresa?", "en": "How many employees does your company have?"},
             "validation": {"min": 1, "max": 100000}}


def _with_employees_first() -> dict:
    """The default flow with the new question right after consent."""
    definition = load_default_flow()
    definition["questions"].insert(1, copy.deepcopy(EMPLOYEES))
    return definition


def _preview(client, version_id, **body):
    return client.post(f"/api/v1/flows/versions/{version_id}/preview/", body, format="json")


def _stages(client) -> dict:
    return {s["stage"]: s["count"] for s in client.get("/api/v1/analytics/funnel").json()["stages"]}


def _visitor(token):
    from chat.visitor import visitor_token_verify

    visitor = visitor_token_verify(token)
    assert visitor is not None
    return visitor


@pytest.mark.django_db
def test_role_matrix_and_shape(make_agency, role_matrix, login):
    a = make_agency()
    admin, _ = login(a.admin)
    draft = admin.post("/api/v1/flows/drafts/", {"definition": _with_employees_first()}, format="json").json()
    answers = role_matrix(a, "admin", lambda c, role: _preview(c, draft["id"]), ok=(201,))
    body = answers["admin"].json()
    assert set(body) == {"conversation", "visitor_token", "ws_url", "config", "resumed", "preview", "flow_version",
                         "preview_url"}
    assert body["preview"] is True and body["resumed"] is False
    assert body["ws_url"].endswith("/ws/v1/chat")
    assert body["flow_version"]["id"] == draft["id"] and body["flow_version"]["status"] == "draft"
    assert body["config"]["flow"]["version"] == draft["number"]
    assert [s["field"] for s in body["config"]["flow"]["steps"]][:2] == ["consent", "employees"]
    # The preview page gets the session in its fragment, which never reaches a server.
    path, _, fragment = body["preview_url"].partition("#")
    assert path == "/widget/preview/"
    carried = json.loads(unquote(fragment))
    assert carried["visitor_token"] == body["visitor_token"] and carried["conversation"] == body["conversation"]
    # Bound to that conversation, and pinned to the draft, marked as a preview.
    visitor = _visitor(body["visitor_token"])
    assert str(visitor.conversation_id) == body["conversation"] and visitor.agency_id == a.agency.id
    from chat.models import Conversation

    with scopes_disabled():
        conversation = Conversation.objects.get(id=body["conversation"])
    assert conversation.is_preview and str(conversation.flow_version_id) == draft["id"]
    assert conversation.widget_key_id is None
    assert conversation.step == "consent"
    # Two previews are two conversations.
    assert answers["owner"].json()["conversation"] != body["conversation"]


@pytest.mark.django_db
def test_a_published_version_can_be_previewed_and_no_origin_is_needed(make_agency, login):
    a = make_agency(origins=())
    admin, _ = login(a.admin)
    current = admin.get("/api/v1/flows/").json()["current_version"]
    response = _preview(admin, current, locale="en")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["flow_version"]["status"] == "published" and body["config"]["locale"] == "en"
    # A widget session on that agency would be refused: it allows no site.
    refused = admin.post("/api/v1/widget/sessions", {"key": a.key.key}, format="json",
                         HTTP_ORIGIN="https://cliente.example")
    assert refused.status_code == 403


@pytest.mark.django_db
def test_another_agency_version_is_404_and_unknown_ids_too(two_agencies, login):
    a, b = two_agencies
    admin_a, _ = login(a.admin)
    admin_b, _ = login(b.admin)
    draft_b = admin_b.post("/api/v1/flows/drafts/", {"definition": load_default_flow()}, format="json").json()["id"]
    current_b = admin_b.get("/api/v1/flows/").json()["current_version"]
    for version in (draft_b, current_b, "00000000-0000-0000-0000-000000000000", "nope"):
        response = _preview(admin_a, version)
        assert response.status_code == 404, (version, response.content)
    from chat.models import Conversation

    with scopes_disabled():
        assert not Conversation.objects.filter(agency=a.agency).exists()


@pytest.mark.django_db
def test_unauthenticated_is_401(make_agency, api):
    a = make_agency()
    with scopes_disabled():
        from qualification.models import FlowVersion

        version = FlowVersion.objects.filter(agency=a.agency).first()
    assert _preview(api, version.id).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_finished_preview_reaches_no_crm_webhook_strategy_analytics_or_list(make_agency, login, monkeypatch):
    """The preview runs the whole default flow to `done` (scored like a lead),
    and nothing is queued; a real lead on the same flow, the control, is."""
    import integrations.services
    import strategy.tasks

    queued = {"crm": [], "strategy": []}
    monkeypatch.setattr(integrations.services, "crm_sync_request",
                        lambda *, lead_id, agency_id: queued["crm"].append(str(lead_id)))
    monkeypatch.setattr(strategy.tasks.strategy_queue, "delay", lambda lead_id, agency_id: queued["strategy"].append(lead_id))
    a = make_agency()
    admin, _ = login(a.admin)
    hook = admin.post("/api/v1/webhooks/", {"url": "https://hooks.example/markezy", "event_types": ["lead.qualified"]},
                      format="json")
    assert hook.status_code == 201, hook.content
    current = admin.get("/api/v1/flows/").json()["current_version"]
    preview = _preview(admin, current).json()
    say(_visitor(preview["visitor_token"]), *SCRIPT)

    from chat.models import Conversation
    from integrations.models import WebhookDelivery
    from qualification.models import Lead

    with scopes_disabled():
        preview_lead = Lead.objects.get(conversation_id=preview["conversation"])
        assert Conversation.objects.get(id=preview["conversation"]).status == "qualified"
        assert preview_lead.status == "qualified" and preview_lead.score is not None
        assert not WebhookDelivery.objects.filter(agency=a.agency).exists()
    assert queued == {"crm": [], "strategy": []}
    # Not in the staff's lists, and its lead answers like a missing one.
    assert admin.get("/api/v1/conversations/").json()["results"] == []
    assert admin.get("/api/v1/leads/").json()["results"] == []
    assert admin.get(f"/api/v1/leads/{preview_lead.id}/").status_code == 404
    detail = admin.get(f"/api/v1/conversations/{preview['conversation']}/")
    assert detail.status_code == 200 and detail.json()["preview"] is True
    funnel = _stages(admin)
    assert funnel["sessions"] == funnel["conversations"] == funnel["qualified"] == 0, funnel
    assert admin.get("/api/v1/analytics/quality").json()["qualified"] == 0

    # The control: a widget lead through the same flow is a lead everywhere.
    conversation, visitor = open_conversation(a.agency)
    say(visitor, *SCRIPT)
    with scopes_disabled():
        lead = Lead.objects.get(conversation=conversation)
        assert WebhookDelivery.objects.filter(agency=a.agency).count() == 1
    assert str(lead.id) in queued["crm"] and str(lead.id) in queued["strategy"]
    assert [c["id"] for c in admin.get("/api/v1/conversations/").json()["results"]] == [str(conversation.id)]
    assert [item["id"] for item in admin.get("/api/v1/leads/").json()["results"]] == [str(lead.id)]
    funnel = _stages(admin)
    assert funnel["sessions"] == funnel["conversations"] == funnel["qualified"] == 1, funnel


# --- Over the real socket (daphne, MariaDB, Redis) --------------------------------------------

FAST = {"OFFLINE_TOKENS_PER_SECOND": "0", "CHAT_RATE_BURST": "100", "CHAT_RATE_MESSAGES": "1000"}
SITE = "https://cliente.example"


def _staff(server, user, password="correct-horse-battery") -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=10)
    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": password})
    assert token.status_code == 200, token.text
    client.headers["Authorization"] = f"Bearer {token.json()['access']}"
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
async def test_the_preview_asks_the_drafts_questions_over_the_lead_socket(web_pool, make_agency, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    admin = await sync_to_async(_staff)(server, a.admin)
    draft = admin.post("/api/v1/flows/drafts/", json={"definition": _with_employees_first()}).json()
    # The console's page posts from this service's own origin.
    preview = admin.post(f"/api/v1/flows/versions/{draft['id']}/preview/", json={},
                         headers={"Origin": server.base_url})
    assert preview.status_code == 201, preview.text
    session = preview.json()
    assert session["ws_url"] == server.ws_url + "/ws/v1/chat"

    # An allowed site of the agency cannot open it, nor a stranger; a token without the right origin neither.
    for origin in (SITE, "https://evil.example"):
        ws = await websockets.connect(server.ws_url + "/ws/v1/chat", origin=origin)
        await ws.send(json.dumps({"type": "auth", "token": session["visitor_token"]}))
        assert await close_code(ws) == 4403

    chat = await lead_socket.connect(server, session["visitor_token"], origin=server.base_url)
    await chat.until_type("qualification", step="consent")
    await chat.assistant_reply()
    await chat.say("Sí, acepto")
    asked = await chat.until_type("qualification", step="employees")
    assert asked["answers"]["consent"] is True
    reply = await chat.assistant_reply()
    assert "empleados" in reply["text"]
    # The draft's validation applies: 0 is below its minimum, asked again.
    await chat.say("0")
    again = await chat.until_type("qualification")
    assert again["step"] == "employees" and "employees" not in again["answers"]
    await chat.assistant_reply()
    await chat.say("Somos 12")
    after = await chat.until_type("qualification", step="name")
    assert after["answers"]["employees"] == 12
    await chat.close()

    # A widget conversation on the same agency still gets the published flow.
    widget = httpx.post(server.base_url + "/api/v1/widget/sessions", json={"key": a.key.key},
                        headers={"Origin": SITE}, timeout=10).json()
    assert "employees" not in [s["field"] for s in widget["config"]["flow"]["steps"]]
    # And a preview's token does not resume anything through the widget endpoint.
    resumed = httpx.post(server.base_url + "/api/v1/widget/sessions",
                         json={"key": a.key.key, "visitor_token": session["visitor_token"]},
                         headers={"Origin": SITE}, timeout=10).json()
    assert resumed["conversation"] != session["conversation"] and resumed["resumed"] is False
    admin.close()


@pytest.mark.django_db
def test_previews_are_deleted_by_retention_after_a_day(make_agency, login):
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import Conversation
    from qualification.services import retention_run

    a = make_agency()
    admin, _ = login(a.admin)
    current = admin.get("/api/v1/flows/").json()["current_version"]
    old, fresh = (_preview(admin, current).json()["conversation"] for _ in range(2))
    say(_visitor(_preview(admin, current).json()["visitor_token"]), "Sí, acepto")  # consented: kept by the usual rule
    with scopes_disabled():
        Conversation.objects.filter(id=old).update(updated=timezone.now() - timedelta(days=2))
    retention_run()
    with scopes_disabled():
        left = set(Conversation.objects.filter(agency=a.agency).values_list("id", flat=True))
    assert old not in {str(c) for c in left} and fresh in {str(c) for c in left} and len(left) == 2
