"""GET /api/v1/agency/onboarding: the console's first-run checklist."""

from __future__ import annotations

import uuid

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def _done(client) -> dict:
    body = client.get("/api/v1/agency/onboarding").json()
    return {step["id"]: step["done"] for step in body["steps"]}


def test_steps_turn_done_as_the_agency_sets_itself_up(api, client, settings, widget_session):
    from chat.visitor import visitor_token_verify

    settings.PUBLIC_BASE_URL = "https://app.markezy.example"
    signup = api.post("/api/v1/agencies/", {"agency": "Onboarding SL", "name": "Eva", "email": "eva@onb.example",
                                            "password": "faro-de-cabo-mayor"}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {signup['access']}")
    body = api.get("/api/v1/agency/onboarding").json()
    assert [s["id"] for s in body["steps"]] == ["branding", "origin", "install", "test_chat", "clientify"]
    assert not any(s["done"] for s in body["steps"]) and body["complete"] is False
    key = api.get("/api/v1/widget-keys/").json()["results"][0]["key"]
    assert body["widget_key"] == key
    assert body["snippet"] == (f'<script src="https://app.markezy.example/widget/v1/markezy.js" data-key="{key}" '
                               'async></script>')

    api.patch("/api/v1/agency/", {"branding": {"primary_color": "#4f46e5"}}, format="json")
    assert _done(api)["branding"] is True
    api.post("/api/v1/origins/", {"origin": "https://onb.example"}, format="json")
    assert _done(api)["origin"] is True and _done(api)["install"] is False
    session = widget_session(client, key, origin="https://onb.example").json()
    assert _done(api)["install"] is True and _done(api)["test_chat"] is False
    from chat.services import lead_message_receive

    lead_message_receive(visitor=visitor_token_verify(session["visitor_token"]), client_id=uuid.uuid4(), text="Hola")
    steps = _done(api)
    assert steps["test_chat"] is True
    try:
        from integrations.models import ClientifyConnection
    except ImportError:
        assert steps["clientify"] is False  # no CRM integration in this build
        return
    with scopes_disabled():
        ClientifyConnection.objects.create(agency_id=signup["agency"], api_token="tok", token_last4="1234", enabled=True)
    body = api.get("/api/v1/agency/onboarding").json()
    assert all(s["done"] for s in body["steps"]) and body["complete"] is True


def test_role_matrix_and_isolation(two_agencies, role_matrix, login, client, widget_session):
    a, b = two_agencies
    role_matrix(a, "admin", lambda c, role: c.get("/api/v1/agency/onboarding"))
    # B's progress is not A's.
    widget_session(client, b.key.key)
    admin_a, _ = login(a.admin)
    body = admin_a.get("/api/v1/agency/onboarding").json()
    assert {s["id"]: s["done"] for s in body["steps"]}["install"] is False
    assert body["widget_key"] == a.key.key
