"""Storing a finished reply is idempotent by its turn id: the runner retries
it through a database outage, and a retry after a commit whose answer was
lost must not store the reply twice."""

from __future__ import annotations

import uuid

import pytest
from django_scopes import scope

pytestmark = pytest.mark.django_db


def test_storing_the_same_reply_twice_stores_it_once(make_agency):
    from chat.models import Conversation, ConversationEvent, Turn
    from chat.services import TurnRecord, turn_complete
    from qualification.services import flow_version_current, lead_start

    agency = make_agency("Reintentos").agency
    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, flow_version=flow_version_current(agency_id=agency.id))
        lead_start(conversation=conversation)
    record = TurnRecord(turn_id=uuid.uuid4(), role="assistant", text="¿Cómo te llamas?", provider="offline")

    first = turn_complete(agency_id=agency.id, conversation_id=conversation.id, record=record)
    again = turn_complete(agency_id=agency.id, conversation_id=conversation.id, record=record)

    assert again.frames == first.frames and first.frames[0]["type"] == "turn.completed"
    with scope(agency=agency.id):
        assert Turn.objects.filter(id=record.turn_id).count() == 1
        assert ConversationEvent.objects.filter(conversation=conversation, type="turn.completed").count() == 1
        conversation.refresh_from_db()
        assert conversation.last_seq == first.frames[0]["seq"]
