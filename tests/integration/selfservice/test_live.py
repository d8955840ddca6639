"""Self-service changes seen by real daphne processes, MariaDB and Redis: an
origin added through the API admits sessions at once, a revoked key closes
its open lead sockets with 4403, and a new privacy-policy version makes a
returning lead consent again."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

# The same configuration as the flow tests, so one server serves both.
FAST = {"OFFLINE_TOKENS_PER_SECOND": "0", "CHAT_RATE_BURST": "100", "CHAT_RATE_MESSAGES": "1000"}
SITE = "https://cliente.example"


def _staff(server, user, password="correct-horse-battery") -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=10)
    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": password})
    assert token.status_code == 200, token.text
    client.headers["Authorization"] = f"Bearer {token.json()['access']}"
    return client


def _session(server, key, origin, visitor_token=None) -> httpx.Response:
    body = {"key": key}
    if visitor_token:
        body["visitor_token"] = visitor_token
    return httpx.post(server.base_url + "/api/v1/widget/sessions", json=body, headers={"Origin": origin}, timeout=10)


from tests.integration.conftest import close_code as _close_code  # noqa: E402


async def test_origin_through_the_api_applies_at_once(web_pool, make_agency):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)(origins=())
    admin = await sync_to_async(_staff)(server, a.admin)
    site = "https://recien-llegada.example"
    assert _session(server, a.key.key, site).status_code == 403
    added = admin.post("/api/v1/origins/", json={"origin": site})
    assert added.status_code == 201
    assert _session(server, a.key.key, site).status_code == 201
    assert admin.delete(f"/api/v1/origins/{added.json()['id']}/").status_code == 204
    assert _session(server, a.key.key, site).status_code == 403
    admin.close()


async def test_revoked_key_refuses_sessions_and_closes_open_sockets_4403(web_pool, make_agency, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    admin = await sync_to_async(_staff)(server, a.admin)
    other_key = admin.post("/api/v1/widget-keys/", json={"name": "otra"}).json()
    revoked_session = _session(server, a.key.key, SITE).json()
    kept_session = _session(server, other_key["key"], SITE).json()
    doomed = await lead_socket.connect(server, revoked_session["visitor_token"], origin=SITE)
    kept = await lead_socket.connect(server, kept_session["visitor_token"], origin=SITE)
    await doomed.until_type("qualification")
    await kept.until_type("qualification")
    assert admin.delete(f"/api/v1/widget-keys/{a.key.id}/").status_code == 204
    assert await _close_code(doomed.ws) == 4403
    refused = _session(server, a.key.key, SITE)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "invalid_key"
    # A socket of another key stays open and keeps working.
    await kept.say("Sí, acepto")
    qualification = await kept.until_type("qualification", step="name")
    assert qualification["answers"]["consent"] is True
    # Reconnecting through the revoked key is refused too.
    again = await websockets.connect(server.ws_url + "/ws/v1/chat", origin=SITE)
    await again.send(json.dumps({"type": "auth", "token": revoked_session["visitor_token"]}))
    assert await _close_code(again) == 4403
    await kept.close()
    admin.close()


@sync_to_async
def _lead(conversation_id):
    from qualification.models import Lead

    with scopes_disabled():
        return Lead.objects.get(conversation_id=conversation_id)


@sync_to_async
def _consents(conversation_id):
    from qualification.models import ConsentRecord

    with scopes_disabled():
        return list(ConsentRecord.objects.filter(conversation_id=conversation_id).order_by("created")
                    .values_list("granted", "policy_version"))


@sync_to_async
def _replay_mismatches(conversation_id):
    """The renewal is an event like any other: replaying the log rebuilds the lead."""
    from qualification.models import Lead
    from qualification.projection import fold
    from qualification.selectors import lead_events_all
    from qualification.services import lead_projection_matches

    with scopes_disabled():
        lead = Lead.objects.get(conversation_id=conversation_id)
        return lead_projection_matches(lead, fold(lead_events_all(lead)))


async def test_new_privacy_policy_version_asks_a_returning_lead_again(web_pool, make_agency, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    admin = await sync_to_async(_staff)(server, a.admin)
    session = _session(server, a.key.key, SITE).json()
    assert session["config"]["privacy_policy"]["version"] == "1"
    lead = await lead_socket.connect(server, session["visitor_token"], origin=SITE)
    await lead.until_type("qualification", step="consent")
    await lead.assistant_reply()
    await lead.send({"type": "consent", "granted": True, "policy": "1"})
    await lead.until_type("qualification", step="name")
    await lead.assistant_reply()
    await lead.say("Me llamo Ana García")
    await lead.until_type("qualification", step="company")
    await lead.assistant_reply()
    await lead.close()

    changed = admin.patch("/api/v1/agency/", json={"privacy_policy": {"url": "https://cliente.example/privacidad",
                                                                      "version": "2"}})
    assert changed.status_code == 200 and changed.json()["privacy_policy"]["version"] == "2"
    # A new visitor sees the new version; so does the returning one, who is asked again.
    resumed = _session(server, a.key.key, SITE, visitor_token=session["visitor_token"])
    assert resumed.status_code == 201 and resumed.json()["resumed"] is True
    assert resumed.json()["config"]["privacy_policy"] == {"url": "https://cliente.example/privacidad", "version": "2"}
    stored = await _lead(session["conversation"])
    assert stored.consent_granted is False and "consent" not in stored.answers
    assert stored.answers["name"] == "Ana García"  # what was given stays
    back = await lead_socket.connect(server, resumed.json()["visitor_token"], origin=SITE, last_seq=lead.last_seq())
    asking = await back.until_type("qualification")
    assert asking["step"] == "consent" and "consent" not in asking["answers"]
    # Nothing personal is stored until the lead consents again.
    await back.say("Mi empresa es Panadería Sol")
    still = await back.until_type("qualification")
    assert still["step"] == "consent"
    assert "company" not in (await _lead(session["conversation"])).answers
    await back.assistant_reply()
    await back.send({"type": "consent", "granted": True, "policy": "2"})
    resumed_flow = await back.until_type("qualification", step="company")
    assert resumed_flow["answers"]["consent"] is True and resumed_flow["answers"]["name"] == "Ana García"
    assert await _consents(session["conversation"]) == [(True, "1"), (True, "2")]
    stored = await _lead(session["conversation"])
    assert stored.consent_granted is True and stored.consent_policy == "2"
    assert await _replay_mismatches(session["conversation"]) == []
    # Coming back again under the same version asks nothing more.
    await back.close()
    third = _session(server, a.key.key, SITE, visitor_token=session["visitor_token"]).json()
    assert third["resumed"] is True
    assert (await _lead(session["conversation"])).consent_granted is True
    admin.close()


async def test_open_socket_is_asked_again_on_its_next_message(web_pool, make_agency, lead_socket):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    admin = await sync_to_async(_staff)(server, a.admin)
    session = _session(server, a.key.key, SITE).json()
    lead = await lead_socket.connect(server, session["visitor_token"], origin=SITE)
    await lead.until_type("qualification", step="consent")
    await lead.assistant_reply()
    await lead.say("Sí, acepto")
    await lead.until_type("qualification", step="name")
    await lead.assistant_reply()
    assert admin.patch("/api/v1/agency/", json={"privacy_policy": {"version": "2026-02"}}).status_code == 200
    await lead.say("Me llamo Ana García")
    asking = await lead.until_type("qualification")
    assert asking["step"] == "consent" and "name" not in asking["answers"]
    await lead.assistant_reply()
    await lead.say("Sí, acepto")
    after = await lead.until_type("qualification", step="name")
    assert after["answers"]["consent"] is True
    stored = await _lead(session["conversation"])
    assert stored.consent_policy == "2026-02"
    await lead.close()
    admin.close()


async def _to_company(server, key, lead_socket, session):
    lead = await lead_socket.connect(server, session["visitor_token"], origin=SITE)
    await lead.until_type("qualification", step="consent")
    await lead.assistant_reply()
    for text, step in (("Sí, acepto", "name"), ("Me llamo Ana García", "company")):
        await lead.say(text)
        await lead.until_type("qualification", step=step)
        await lead.assistant_reply()
    return lead


async def test_published_flow_asks_its_new_question_while_an_older_conversation_keeps_its_version(
        web_pool, make_agency, lead_socket):
    from qualification.flows import load_default_flow

    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)()
    admin = await sync_to_async(_staff)(server, a.admin)
    old_session = _session(server, a.key.key, SITE).json()
    old = await _to_company(server, a.key.key, lead_socket, old_session)

    definition = load_default_flow()
    definition["questions"].insert(3, {"field": "employees", "type": "number", "required": True,
                                       "prompt": {"es": "¿Cuántas personas trabajáis?", "en": "How many people?"}})
    draft = admin.post("/api/v1/flows/drafts/", json={"definition": definition})
    assert draft.status_code == 201
    assert admin.post(f"/api/v1/flows/versions/{draft.json()['id']}/publish/").status_code == 200

    new_session = _session(server, a.key.key, SITE).json()
    assert new_session["config"]["flow"]["version"] == 2
    new = await _to_company(server, a.key.key, lead_socket, new_session)
    await new.say("Panadería Sol")
    asked = await new.until_type("qualification", step="employees")
    assert asked["answers"]["company"] == "Panadería Sol"
    reply = await new.assistant_reply()
    assert "personas" in reply["text"]
    await new.say("Somos 12")
    after = await new.until_type("qualification", step="sector")
    assert after["answers"]["employees"] == 12

    await old.say("Panadería Sol")
    kept = await old.until_type("qualification")
    assert kept["step"] == "sector" and "employees" not in kept["answers"]
    await old.close()
    await new.close()
    admin.close()
