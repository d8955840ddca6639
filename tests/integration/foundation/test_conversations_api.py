"""Staff REST for conversations and leads (CONTRACT §5): filters, blind
full-text search over encrypted turns, detail with turns and notes, roles."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django_scopes import scope

pytestmark = pytest.mark.django_db


def _conversation_with(agency_users, texts: list[str], ip: str):
    from chat.services import lead_message_receive, widget_session_open
    from chat.visitor import visitor_token_verify

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="https://cliente.example/precios", locale="es", ip=ip)
    visitor = visitor_token_verify(session.visitor_token)
    for text in texts:
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)
    return session.conversation


@pytest.mark.django_db(transaction=True)  # InnoDB FULLTEXT sees only committed rows
def test_list_filters_search_and_detail(make_agency, login):
    a = make_agency()
    first = _conversation_with(a, ["Sí, acepto", "Me llamo Ana", "Panadería Sol"], "10.0.0.1")
    second = _conversation_with(a, ["No, gracias"], "10.0.0.2")
    viewer, _ = login(a.viewer)

    everything = viewer.get("/api/v1/conversations/").json()
    assert {c["id"] for c in everything["results"]} == {str(first.id), str(second.id)}
    assert set(everything) >= {"next", "previous", "results"}
    declined = viewer.get("/api/v1/conversations/?status=declined").json()["results"]
    assert [c["id"] for c in declined] == [str(second.id)]
    at_sector = viewer.get("/api/v1/conversations/?step=sector").json()["results"]
    assert [c["id"] for c in at_sector] == [str(first.id)]

    # Search works on encrypted text, accents and case folded, every word required.
    found = viewer.get("/api/v1/conversations/", {"q": "panaderia SOL"}).json()["results"]
    assert [c["id"] for c in found] == [str(first.id)]
    assert viewer.get("/api/v1/conversations/", {"q": "panaderia luna"}).json()["results"] == []

    detail = viewer.get(f"/api/v1/conversations/{first.id}/").json()
    assert [t["role"] for t in detail["turns"]] == ["lead", "lead", "lead"]
    assert detail["answers"]["name"] == "Ana" and detail["lead"]["company"] == "Panadería Sol"
    assert detail["lead"]["consent"]["granted"] is True
    assert detail["notes"] == []

    lead_id = detail["lead"]["id"]
    lead = viewer.get(f"/api/v1/leads/{lead_id}/").json()
    assert lead["answers"]["company"] == "Panadería Sol" and lead["status"] == "collecting"
    events = viewer.get(f"/api/v1/leads/{lead_id}/events/").json()["results"]
    assert [e["type"] for e in events][:3] == ["step.changed", "consent.granted", "step.changed"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_turn_text_is_ciphertext_in_the_database(make_agency):
    from django.db import connection

    a = make_agency()
    conversation = _conversation_with(a, ["Sí", "Me llamo Ana Secreta"], "10.0.0.3")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, search_tokens FROM chat_turn WHERE conversation_id = %s",
                       [conversation.id.hex if connection.vendor == "mysql" else str(conversation.id)])
        rows = cursor.fetchall()
        cursor.execute("SELECT name, answers FROM qualification_lead WHERE conversation_id = %s",
                       [conversation.id.hex if connection.vendor == "mysql" else str(conversation.id)])
        lead_rows = cursor.fetchall()
    # Fernet tokens (the key opens them) and blind word tokens, never the words themselves.
    from cryptography.fernet import MultiFernet

    from django.conf import settings as dj_settings

    keys = MultiFernet([Fernet(k.encode()) for k in dj_settings.FIELD_ENCRYPTION_KEYS])
    assert rows and all(text.startswith("gAAAA") and keys.decrypt(text.encode()) for text, _ in rows)
    assert all(all(t.startswith("t") and len(t) == 13 for t in tokens.split()) for _, tokens in rows)
    assert lead_rows and all(keys.decrypt(name.encode()) for name, _ in lead_rows if name)
    with scope(agency=a.agency.id):
        from chat.models import Turn

        assert "Me llamo Ana Secreta" in {t.text for t in Turn.objects.filter(conversation=conversation)}
