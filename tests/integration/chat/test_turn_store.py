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


@pytest.fixture
def garbage_kept():
    """Collect with every unreachable object kept in gc.garbage instead of
    freed: what the code under test left for the collector to find."""
    import gc

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.garbage.clear()

    def found() -> dict[str, int]:
        gc.collect()
        counts: dict[str, int] = {}
        for obj in gc.garbage:
            name = type(obj).__name__
            counts[name] = counts.get(name, 0) + 1
        gc.garbage.clear()
        return counts

    try:
        yield found
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_message_and_its_reply_leave_their_rows_to_reference_counting(make_agency, garbage_kept):
    # select_related caches the conversation and its lead on each other: a cycle per read
    # that only the collector frees, three per message at 200 streaming conversations.
    from chat.services import TurnRecord, lead_message_receive, turn_complete
    from qualification.services import qualification_context
    from tests.integration.leads import open_conversation

    agency = make_agency("Ciclos").agency
    conversation, visitor = open_conversation(agency)
    # The first message of each kind warms per-thread caches (compiled queries), which live on.
    lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text="Sí, acepto")
    turn_complete(agency_id=agency.id, conversation_id=conversation.id,
                  record=TurnRecord(turn_id=uuid.uuid4(), role="assistant", text="¿Cómo te llamas?", provider="offline"))
    qualification_context(visitor=visitor)
    garbage_kept()

    assert qualification_context(visitor=visitor) is not None
    effects = lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text="Me llamo Ana García")
    stored = turn_complete(agency_id=agency.id, conversation_id=conversation.id,
                           record=TurnRecord(turn_id=uuid.uuid4(), role="assistant", text="¿Y tu empresa?",
                                             provider="offline"))
    garbage = garbage_kept()

    assert [f["type"] for f in effects.frames][:1] == ["message"] and stored.frames[0]["type"] == "turn.completed"
    assert garbage.get("Conversation", 0) == 0 and garbage.get("Lead", 0) == 0, garbage
