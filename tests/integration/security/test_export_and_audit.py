"""RGPD export (admin+, only that lead) and the owners' audit log."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db


def _lead(agency_users, name: str, ip: str) -> str:
    from django_scopes import scopes_disabled

    from chat.services import lead_message_receive, widget_session_open
    from chat.visitor import visitor_token_verify
    from qualification.models import Lead

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="", locale="es", ip=ip)
    visitor = visitor_token_verify(session.visitor_token)
    for text in ("Sí, acepto", f"Me llamo {name}"):
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)
    with scopes_disabled():
        return str(Lead.objects.get(conversation=session.conversation).id)


def test_export_contains_that_lead_only(make_agency, login):
    a = make_agency()
    mine = _lead(a, "Ana Exportada", "10.4.0.1")
    _lead(a, "Otro Cliente", "10.4.0.2")
    admin, _ = login(a.admin)
    response = admin.get(f"/api/v1/leads/{mine}/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = response.json()
    assert body["lead"]["answers"]["name"] == "Ana Exportada"
    assert [t["text"] for t in body["conversation"]["turns"] if t["role"] == "lead"] == ["Sí, acepto", "Me llamo Ana Exportada"]
    assert body["consents"][0]["granted"] is True and body["consents"][0]["policy_version"] == "1"
    assert {e["type"] for e in body["events"]} >= {"consent.granted", "answer.recorded"}
    assert "Otro Cliente" not in response.content.decode()


def test_export_roles(make_agency, login):
    a = make_agency()
    lead = _lead(a, "Ana", "10.4.0.3")
    for role, status in (("viewer", 403), ("agent", 403), ("admin", 200), ("owner", 200)):
        client, _ = login(a.user(role))
        assert client.get(f"/api/v1/leads/{lead}/export/").status_code == status, role


def test_audit_log_for_owners(make_agency, login):
    a = make_agency()
    lead = _lead(a, "Ana", "10.4.0.4")
    admin, _ = login(a.admin)
    admin.get(f"/api/v1/leads/{lead}/")
    admin.get(f"/api/v1/leads/{lead}/export/")
    admin.post("/api/v1/widget-keys/", {"name": "web"}, format="json")
    owner, _ = login(a.owner)
    entries = owner.get("/api/v1/audit/").json()["results"]
    actions = [e["action"] for e in entries]
    assert {"auth.login", "lead.view", "lead.export", "widget_key.create"} <= set(actions)
    assert all(e["ip"] for e in entries if e["action"] == "auth.login")
    assert admin.get("/api/v1/audit/").status_code == 403


def test_audit_log_is_append_only(make_agency):
    from django_scopes import scope

    from tenancy.models import AuditLog

    a = make_agency()
    with scope(agency=a.agency.id):
        with pytest.raises(PermissionError):
            AuditLog.objects.all().update(action="x")
        with pytest.raises(PermissionError):
            AuditLog.objects.all().delete()
