"""RGPD erasure (owner), its replay after a restore, and retention runs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

pytestmark = pytest.mark.django_db

PERSONAL = ("Ana Borrable", "ana.borrable@correo.es", "612345678", "Panadería Secreta")


def _qualified_lead(agency_users, ip: str):
    from chat.services import lead_message_receive, widget_session_open
    from chat.visitor import visitor_token_verify
    from qualification.models import Lead

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="https://cliente.example/?email=ana.borrable@correo.es", locale="es", ip=ip)
    visitor = visitor_token_verify(session.visitor_token)
    for text in ("Sí", "Me llamo Ana Borrable", "Panadería Secreta", "hostelería", "no tengo", "reservas", "vecinos",
                 "redes sociales", "2.000 €", "ya", "ana.borrable@correo.es", "612345678"):
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)
    with scopes_disabled():
        return Lead.objects.get(conversation=session.conversation)


def _personal_anywhere(lead) -> list[str]:
    """Every decrypted value of this lead's rows that still holds personal data."""
    from chat.models import Conversation, ConversationEvent, Turn
    from qualification.models import Lead, LeadEvent

    found = []
    with scopes_disabled():
        values = [repr(v) for v in Lead.objects.filter(id=lead.id).values_list("name", "email", "phone", "company", "answers").first()]
        values += [t for t in Turn.objects.filter(conversation_id=lead.conversation_id).values_list("text", flat=True)]
        values += [repr(p) for p in ConversationEvent.objects.filter(conversation_id=lead.conversation_id).values_list("payload", flat=True)]
        values += [repr(d) for d in LeadEvent.objects.filter(lead=lead).values_list("data", flat=True)]
        values += [repr(Conversation.objects.filter(id=lead.conversation_id).values_list("page_url", "last_message_preview").first())]
    for value in values:
        for personal in PERSONAL + ("+34612345678", "Borrable"):
            if personal.lower() in value.lower():
                found.append(personal)
    return found


def test_erasure_removes_personal_data_keeps_statistics(make_agency, login, settings, tmp_path,
                                                        django_capture_on_commit_callbacks):
    settings.ERASURE_LOG_PATH = str(tmp_path / "erasures.jsonl")
    a = make_agency()
    lead = _qualified_lead(a, "10.5.0.1")
    assert lead.status == "qualified" and _personal_anywhere(lead)
    admin, _ = login(a.admin)
    assert admin.delete(f"/api/v1/leads/{lead.id}/").status_code == 403
    owner, _ = login(a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/leads/{lead.id}/").status_code == 204
    assert _personal_anywhere(lead) == []
    detail = owner.get(f"/api/v1/leads/{lead.id}/").json()
    assert detail["status"] == "erased"
    assert detail["answers"] == {"consent": True, "sector": "hosteleria", "goals": ["reservas"],
                                 "channels": ["redes_sociales"], "budget_monthly": 2000, "timeline": "inmediato"}
    log = (tmp_path / "erasures.jsonl").read_text()
    assert str(lead.id) in log and "Ana" not in log
    # The event log still replays to the stored state.
    call_command("rebuild_leads")
    # Erasing twice is harmless.
    assert owner.delete(f"/api/v1/leads/{lead.id}/").status_code == 204


def test_replay_after_restoring_a_pre_erasure_backup(make_agency, login, settings, tmp_path,
                                                     django_capture_on_commit_callbacks):
    from chat.models import Turn
    from qualification.models import Lead

    settings.ERASURE_LOG_PATH = str(tmp_path / "erasures.jsonl")
    a = make_agency()
    lead = _qualified_lead(a, "10.5.0.2")
    with scopes_disabled():
        backup_turns = list(Turn.objects.filter(conversation_id=lead.conversation_id).values_list("id", "text"))
        backup_lead = Lead.objects.filter(id=lead.id).values("name", "email", "phone", "company", "answers", "status").first()
    owner, _ = login(a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        owner.delete(f"/api/v1/leads/{lead.id}/")
    # "Restore" the backup: the rows come back as they were before the erasure.
    with scopes_disabled():
        for turn_id, text in backup_turns:
            Turn.objects.filter(id=turn_id).update(text=text)
        Lead.objects.filter(id=lead.id).update(**backup_lead)
    assert _personal_anywhere(lead)
    call_command("replay_erasures")
    assert _personal_anywhere(lead) == []


def test_retention_run_twice_changes_nothing_the_second_time(make_agency):
    from chat.models import Conversation
    from chat.services import widget_session_open
    from qualification.models import Lead
    from qualification.services import retention_run

    a = make_agency()
    stale = widget_session_open(key=a.key.key, origin="https://cliente.example", visitor_token=None, page_url="",
                                locale="es", ip="10.5.0.3").conversation
    fresh = widget_session_open(key=a.key.key, origin="https://cliente.example", visitor_token=None, page_url="",
                                locale="es", ip="10.5.0.4").conversation
    old_lead = _qualified_lead(a, "10.5.0.5")
    with scope(agency=a.agency.id):
        Conversation.objects.filter(id=stale.id).update(updated=timezone.now() - timedelta(days=31))
        Lead.objects.filter(id=old_lead.id).update(qualified_at=timezone.now() - timedelta(days=30 * 25))
    first = retention_run()
    assert first == {"deleted_conversations": 1, "anonymised_leads": 1}
    with scope(agency=a.agency.id):
        assert not Conversation.objects.filter(id=stale.id).exists()
        assert Conversation.objects.filter(id=fresh.id).exists()
        assert Lead.objects.get(id=old_lead.id).status == "erased"
    assert _personal_anywhere(old_lead) == []
    assert retention_run() == {"deleted_conversations": 0, "anonymised_leads": 0}
