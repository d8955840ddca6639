"""Widget sessions (CONTRACT §3): key + Origin, resume, CORS, nothing created on refusal."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db

ORIGIN = "https://cliente.example"


def _post(client, body, origin=ORIGIN):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post("/api/v1/widget/sessions", body, content_type="application/json", **headers)


def _conversation_count():
    from chat.models import Conversation

    with scopes_disabled():
        return Conversation.objects.count()


def test_new_session(client, make_agency):
    a = make_agency()
    response = _post(client, {"key": a.key.key, "page_url": "https://cliente.example/precios"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"conversation", "visitor_token", "ws_url", "config"}
    assert body["ws_url"].endswith("/ws/v1/chat")
    assert body["config"]["agency_name"] == a.agency.name
    assert [s["field"] for s in body["config"]["flow"]["steps"]][:3] == ["consent", "name", "company"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_resume_with_visitor_token(client, make_agency):
    a = make_agency()
    first = _post(client, {"key": a.key.key}).json()
    again = _post(client, {"key": a.key.key, "visitor_token": first["visitor_token"]}).json()
    assert again["conversation"] == first["conversation"]
    assert again["resumed"] is True


def test_visitor_token_of_other_agency_opens_new_conversation(client, two_agencies):
    a, b = two_agencies
    from tenancy.models import AllowedOrigin

    first = _post(client, {"key": a.key.key}).json()
    second = _post(client, {"key": b.key.key, "visitor_token": first["visitor_token"]}).json()
    assert second["conversation"] != first["conversation"]
    assert second["resumed"] is False


@pytest.mark.parametrize(
    "origin",
    [None, "http://cliente.example", "https://cliente.example:8443", "https://cliente.example.evil.test",
     "https://evil.test", "null"],
)
def test_disallowed_origins_are_403_and_create_nothing(client, make_agency, origin):
    a = make_agency()
    before = _conversation_count()
    response = _post(client, {"key": a.key.key}, origin=origin)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert _conversation_count() == before


def test_unknown_and_revoked_keys_are_403(client, make_agency, login):
    a = make_agency()
    assert _post(client, {"key": "pk_unknown"}).status_code == 403
    admin, _ = login(a.admin)
    assert admin.delete(f"/api/v1/widget-keys/{a.key.id}/").status_code == 204
    before = _conversation_count()
    response = _post(client, {"key": a.key.key})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_key"
    assert _conversation_count() == before


def test_wildcard_origin(client, make_agency):
    a = make_agency(origins=("https://*.tienda.example",))
    assert _post(client, {"key": a.key.key}, origin="https://www.tienda.example").status_code == 201
    assert _post(client, {"key": a.key.key}, origin="https://tienda.example").status_code == 403


def test_preflight_answers_only_allowed_origins(client, make_agency):
    a = make_agency()
    ok = client.options(f"/api/v1/widget/sessions?key={a.key.key}", HTTP_ORIGIN=ORIGIN,
                        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    bad = client.options(f"/api/v1/widget/sessions?key={a.key.key}", HTTP_ORIGIN="https://evil.test",
                         HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in bad
    no_key = client.options("/api/v1/widget/sessions", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert no_key["Access-Control-Allow-Origin"] == ORIGIN


def test_bad_body_is_400_envelope(client, make_agency):
    make_agency()
    response = _post(client, {"nokey": 1})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "key" in response.json()["error"]["fields"]


def test_session_rate_limit_per_ip(client, make_agency, settings):
    settings.WIDGET_SESSIONS_PER_IP_PER_HOUR = 3
    a = make_agency()
    for _ in range(3):
        assert _post(client, {"key": a.key.key}).status_code == 201
    limited = _post(client, {"key": a.key.key})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
