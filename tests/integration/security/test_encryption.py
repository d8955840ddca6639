"""Personal data is ciphertext at rest; keys rotate without losing a row."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def _lead_conversation(agency_users):
    from chat.services import lead_message_receive, widget_session_open
    from chat.visitor import visitor_token_verify

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="", locale="es", ip="10.3.0.1")
    visitor = visitor_token_verify(session.visitor_token)
    for text in ("Sí", "Me llamo Ana Cifrada", "Panadería Sol"):
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)
    return session.conversation


def _raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_rotation_then_dropping_the_old_key_keeps_every_row_readable(make_agency, settings, tmp_path):
    from chat.models import ConversationEvent, Turn
    from qualification.models import Lead, LeadEvent

    settings.VAR_DIR = tmp_path
    a = make_agency()
    conversation = _lead_conversation(a)
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    before = _raw("SELECT text FROM chat_turn")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", "--batch", "2")
    after = _raw("SELECT text FROM chat_turn")
    assert before != after
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    with scopes_disabled():
        assert {t.text for t in Turn.objects.filter(conversation=conversation)} >= {"Me llamo Ana Cifrada", "Panadería Sol"}
        lead = Lead.objects.get(conversation=conversation)
        assert (lead.name, lead.company) == ("Ana Cifrada", "Panadería Sol")
        assert all(e.data is not None for e in LeadEvent.objects.filter(lead=lead))
        assert all(e.payload for e in ConversationEvent.objects.filter(conversation=conversation))
    # Every encrypted value in the database now opens with the new key alone.
    only_new = Fernet(new_key.encode())
    for (value,) in after:
        only_new.decrypt(value.encode())


def test_personal_columns_hold_ciphertext(make_agency, settings):
    """Every stored value is a Fernet token of ours (a substring check on
    base64 would be meaningless: 'Ana' can appear in ciphertext by chance)."""
    from cryptography.fernet import MultiFernet

    keys = MultiFernet([Fernet(k.encode()) for k in settings.FIELD_ENCRYPTION_KEYS])
    a = make_agency()
    _lead_conversation(a)
    seen_plaintext = []
    for sql in ("SELECT name, company, answers FROM qualification_lead",
                "SELECT text FROM chat_turn", "SELECT payload FROM chat_conversationevent",
                "SELECT data FROM qualification_leadevent"):
        for row in _raw(sql):
            for value in row:
                if value:
                    seen_plaintext.append(keys.decrypt(value.encode()).decode())
    assert any("Ana Cifrada" in text for text in seen_plaintext)
