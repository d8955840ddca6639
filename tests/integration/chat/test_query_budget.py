"""Queries per lead message. The ORM work of a message shares the web
process (and the GIL) with every token being relayed (bench/README.md), so
the number of statements each step issues is pinned here: a change that adds
a read or splits an insert fails this test instead of slowing the stream."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

pytestmark = pytest.mark.django_db


def _statements(ctx) -> list[str]:
    # Savepoints come from the test's own transaction, not from the code under test.
    return [q["sql"] for q in ctx.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]


@pytest.fixture
def visitor(make_agency):
    from chat.models import Conversation
    from chat.services import conversation_claim_opening
    from qualification.services import flow_version_current, lead_start
    from tenancy.actors import VisitorActor

    agency = make_agency("Consultas").agency
    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, flow_version=flow_version_current(agency_id=agency.id))
        lead_start(conversation=conversation)
    actor = VisitorActor(agency_id=agency.id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    conversation_claim_opening(visitor=actor)
    return actor


def _say(visitor, text, *, with_history=True, client_id=None):
    from chat.services import lead_message_receive

    with CaptureQueriesContext(connection) as ctx:
        effects = lead_message_receive(visitor=visitor, client_id=client_id or uuid.uuid4(), text=text,
                                       with_history=with_history)
    return effects, _statements(ctx)


def test_an_answer_costs_seven_statements_and_reads_the_lead_with_the_lock(visitor):
    effects, consent = _say(visitor, "sí, acepto", with_history=False)
    assert [f["type"] for f in effects.frames] == ["message", "qualification"]
    # The consent step also stores the consent record.
    assert len(consent) == 8, "\n".join(consent)

    effects, sql = _say(visitor, "Me llamo Ana López", with_history=False)
    assert effects.frames[-1]["step"] == "company" and effects.frames[-1]["answers"]["name"] == "Ana López"
    assert effects.summary["lead_name"] == "Ana López" and effects.summary["flow_version"] == 1
    assert len(sql) == 7, "\n".join(sql)
    selects = [s for s in sql if s.startswith("SELECT")]
    # One locked read of conversation + lead together, and the agency's settings.
    assert len(selects) == 2
    assert "`qualification_lead`" in selects[0] and selects[0].rstrip().endswith("FOR UPDATE")
    inserts = [s for s in sql if s.startswith("INSERT")]
    # The turn, its LeadEvents in one statement, both ConversationEvents in one statement.
    assert [s.split("`")[1] for s in inserts] == ["chat_turn", "qualification_leadevent", "chat_conversationevent"]
    assert sum(s.startswith("UPDATE") for s in sql) == 2  # the lead's projection, the conversation


def test_the_history_is_read_only_for_a_provider_that_uses_it(visitor):
    _say(visitor, "sí, acepto")
    effects, sql = _say(visitor, "Ana López", with_history=True)
    assert len(sql) == 8
    assert [m["content"] for m in effects.reply.messages if m["role"] == "user"][-1] == "Ana López"
    effects, sql = _say(visitor, "Panadería Sol", with_history=False)
    assert len(sql) == 7
    assert not [m for m in effects.reply.messages if m["role"] == "user"]
    assert effects.reply.scripted  # the offline provider's text is there either way


def test_a_resent_message_is_answered_from_the_store_and_writes_nothing(visitor):
    from chat.models import ConversationEvent, Turn
    from qualification.models import LeadEvent

    client_id = uuid.uuid4()
    first, _ = _say(visitor, "sí, acepto", client_id=client_id)
    with scope(agency=visitor.agency_id):
        counts = (Turn.objects.count(), ConversationEvent.objects.count(), LeadEvent.objects.count())
    again, _ = _say(visitor, "sí, acepto", client_id=client_id)
    assert again.duplicate and again.frames == [first.frames[0]]
    with scope(agency=visitor.agency_id):
        assert (Turn.objects.count(), ConversationEvent.objects.count(), LeadEvent.objects.count()) == counts


def test_a_completed_turn_costs_four_statements(visitor):
    from chat.services import TurnRecord, turn_complete

    _say(visitor, "sí, acepto")
    record = TurnRecord(turn_id=uuid.uuid4(), role="assistant", text="¿Cómo te llamas?", provider="offline")
    with CaptureQueriesContext(connection) as ctx:
        effects = turn_complete(agency_id=visitor.agency_id, conversation_id=visitor.conversation_id, record=record)
    sql = _statements(ctx)
    assert effects.frames[0]["type"] == "turn.completed" and effects.summary["last_message"]["role"] == "assistant"
    assert len(sql) == 4, "\n".join(sql)


def test_the_reply_setup_reads_once_each(visitor):
    from chat.streaming import _allowed_link_patterns
    from qualification.services import qualification_context

    with CaptureQueriesContext(connection) as ctx:
        context = qualification_context(visitor=visitor)
    assert len(_statements(ctx)) == 1 and context["step"] == "consent"
    with CaptureQueriesContext(connection) as ctx:
        patterns = _allowed_link_patterns(visitor.agency_id, {"privacy_policy": {"url": "https://legal.example/p"}})
    assert len(_statements(ctx)) == 1 and "https://legal.example" in patterns
    # With the socket's auth-time snapshot of both, the guard needs no query at all.
    with CaptureQueriesContext(connection) as ctx:
        patterns = _allowed_link_patterns(visitor.agency_id, {"privacy_policy": {"url": "https://legal.example/p"}},
                                          ["https://cliente.example"])
    assert not _statements(ctx) and patterns == ["https://cliente.example", "https://legal.example"]
