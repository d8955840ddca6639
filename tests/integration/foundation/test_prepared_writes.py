"""project.db.prepared stores exactly what the ORM stores (the chat's hot
writes use it instead of save() and bulk_create), keeps the database's
constraints, and never writes another agency's row."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django_scopes import scope

pytestmark = pytest.mark.django_db


def _raw_row(table: str, pk_column: str, pk) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} WHERE {pk_column} = %s",
                       [pk.hex if isinstance(pk, uuid.UUID) else pk])
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone()))


@pytest.fixture
def conversation(make_agency):
    from chat.models import Conversation

    agency = make_agency("Preparada").agency
    with scope(agency=agency.id):
        return Conversation.objects.create(agency=agency)


def _turn(conversation, **overrides):
    from chat.models import Turn

    values = dict(id=uuid.uuid4(), agency_id=conversation.agency_id, conversation=conversation, seq=1, role="lead",
                  text="Hola, me llamo Íñigo ☕", client_id=uuid.uuid4(), search_tokens="abc def", flagged=True,
                  first_token_ms=None, created=timezone.now())
    values.update(overrides)
    return Turn(**values)


def test_an_inserted_turn_is_column_for_column_what_the_orm_stores(conversation):
    from chat.models import Turn
    from project.db.prepared import instances_insert

    moment = timezone.now()
    by_orm, prepared = _turn(conversation, created=moment), _turn(conversation, seq=2, created=moment)
    with scope(agency=conversation.agency_id):
        by_orm.save(force_insert=True)
    instances_insert([prepared])

    a, b = _raw_row("chat_turn", "id", by_orm.id), _raw_row("chat_turn", "id", prepared.id)
    for column in ("id", "seq", "client_id", "text"):
        a.pop(column), b.pop(column)
    assert a == b  # every other column, byte for byte: agency, role, timestamps, flags, defaults
    assert not prepared._state.adding
    with scope(agency=conversation.agency_id):
        stored = Turn.objects.get(id=prepared.id)
    # The text is encrypted at rest like the ORM's, and reads back through the field.
    assert stored.text == "Hola, me llamo Íñigo ☕" and stored.client_id == prepared.client_id
    assert "Íñigo" not in _raw_row("chat_turn", "id", prepared.id)["text"]


def test_several_rows_go_in_one_statement_and_json_payloads_round_trip(conversation):
    from django.test.utils import CaptureQueriesContext

    from chat.models import ConversationEvent
    from project.db.prepared import instances_insert

    events = [ConversationEvent(agency_id=conversation.agency_id, conversation=conversation, seq=seq, type="message",
                                payload={"seq": seq, "text": "¿Qué tal?", "nested": [1, None, True]})
              for seq in (1, 2, 3)]
    with CaptureQueriesContext(connection) as queries:
        instances_insert(events)
    assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT")
    with scope(agency=conversation.agency_id):
        stored = list(ConversationEvent.objects.filter(conversation=conversation).order_by("seq"))
    assert [e.payload for e in stored] == [e.payload for e in events]


def test_the_database_constraints_still_hold(conversation):
    from project.db.prepared import instances_insert

    first = _turn(conversation)
    instances_insert([first])
    with pytest.raises(IntegrityError), transaction.atomic():
        # A resent client_id: the unique constraint the lead socket's idempotency rests on.
        instances_insert([_turn(conversation, seq=2, client_id=first.client_id)])


def test_one_model_at_a_time(conversation):
    from chat.models import ConversationEvent
    from project.db.prepared import instances_insert

    event = ConversationEvent(agency_id=conversation.agency_id, conversation=conversation, seq=1, type="x", payload={})
    with pytest.raises(TypeError):
        instances_insert([_turn(conversation), event])


def test_an_update_is_what_save_with_update_fields_stores(conversation):
    from chat.models import Conversation
    from project.db.prepared import instance_update

    twin = Conversation.objects.create(agency_id=conversation.agency_id)
    moment = timezone.now()
    for obj, write in ((conversation, lambda o, f: o.save(update_fields=f)), (twin, instance_update)):
        obj.last_seq, obj.step, obj.progress, obj.updated = 7, "email", 0.5, moment
        obj.last_message_preview, obj.owner_user = "Mi correo es ana@example.com", None
        fields = ["last_seq", "step", "progress", "updated", "last_message_preview", "owner_user"]
        with scope(agency=conversation.agency_id):
            write(obj, fields)
    a, b = _raw_row("chat_conversation", "id", conversation.id), _raw_row("chat_conversation", "id", twin.id)
    for column in ("id", "visitor_id", "created", "last_message_preview"):
        a.pop(column), b.pop(column)
    assert a == b
    with scope(agency=conversation.agency_id):
        twin.refresh_from_db()
    assert (twin.last_seq, twin.step, twin.last_message_preview) == (7, "email", "Mi correo es ana@example.com")


def test_an_update_with_nothing_changed_still_finds_its_row(conversation):
    from project.db.prepared import instance_update

    instance_update(conversation, ["last_seq"])  # same value: MySQL matches the row, changes none
    instance_update(conversation, ["last_seq"])


def test_an_update_never_touches_another_agencys_row(two_agencies):
    from chat.models import Conversation
    from project.db.prepared import instance_update

    alfa, beta = two_agencies
    with scope(agency=beta.agency.id):
        theirs = Conversation.objects.create(agency=beta.agency)
    forged = Conversation(id=theirs.id, agency_id=alfa.agency.id, last_seq=99)
    with pytest.raises(DatabaseError, match="is not stored"):
        instance_update(forged, ["last_seq"])
    with scope(agency=beta.agency.id):
        theirs.refresh_from_db()
    assert theirs.last_seq == 0


def test_only_columns_can_be_updated(conversation):
    from project.db.prepared import instance_update

    with pytest.raises(ValueError):
        instance_update(conversation, ["id"])


# --- PreparedSelect ---------------------------------------------------------------


def _conversation_with_lead(make_agency, name="Lectura"):
    from chat.models import Conversation
    from qualification.services import flow_version_current, lead_start

    agency = make_agency(name).agency
    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, flow_version=flow_version_current(agency_id=agency.id),
                                                   last_message_preview="Soy Ana, de Panadería Sol")
        lead_start(conversation=conversation)
        lead = conversation.lead
        lead.name, lead.answers = "Ana", {"name": "Ana", "company": "Panadería Sol"}
        lead.save()
    return conversation


def _query(**shape):
    from chat.models import Conversation
    from project.db.prepared import PreparedSelect

    def build(*, agency_id, conversation_id):
        with scope(agency=agency_id):
            qs = Conversation.objects.filter(id=conversation_id).select_related("lead")
            if shape.get("only"):
                qs = qs.only(*shape["only"])
            if shape.get("lock"):
                qs = qs.select_for_update()
            return qs.order_by()[:1]

    return PreparedSelect(build, agency_id=Conversation._meta.get_field("agency"),
                          conversation_id=Conversation._meta.pk)


def test_a_prepared_select_makes_the_instances_the_orm_makes(make_agency):
    from chat.models import Conversation

    conversation = _conversation_with_lead(make_agency)
    query = _query()
    for _ in range(2):  # compiled on the first call, reused on the second
        [prepared] = query.run(agency_id=conversation.agency_id, conversation_id=conversation.id)
        with scope(agency=conversation.agency_id):
            by_orm = Conversation.objects.select_related("lead").get(id=conversation.id)
        for field in Conversation._meta.concrete_fields:
            assert getattr(prepared, field.attname) == getattr(by_orm, field.attname), field.name
        assert prepared.last_message_preview == "Soy Ana, de Panadería Sol"  # decrypted by the field's converter
        assert Conversation.lead.is_cached(prepared)  # select_related: no second query for the lead
        assert prepared.lead.answers == {"name": "Ana", "company": "Panadería Sol"} and prepared.lead.name == "Ana"
        assert not prepared._state.adding and prepared._state.db == "default"


@pytest.mark.django_db(transaction=True)
def test_a_prepared_select_for_update_runs_only_inside_a_transaction(make_agency):
    conversation = _conversation_with_lead(make_agency)
    query = _query(lock=True)
    with pytest.raises(transaction.TransactionManagementError):
        query.run(agency_id=conversation.agency_id, conversation_id=conversation.id)
    with transaction.atomic():
        assert len(query.run(agency_id=conversation.agency_id, conversation_id=conversation.id)) == 1
        assert "FOR UPDATE" in query._local.plan.sql


def test_a_prepared_select_defers_what_only_leaves_out(make_agency):
    conversation = _conversation_with_lead(make_agency)
    query = _query(only=("agency", "last_seq", "lead__id", "lead__agency", "lead__conversation", "lead__name"),
                   lock=True)
    with transaction.atomic():
        [prepared] = query.run(agency_id=conversation.agency_id, conversation_id=conversation.id)
        assert "last_message_preview" in prepared.get_deferred_fields()
        assert prepared.lead.name == "Ana" and "answers" in prepared.lead.get_deferred_fields()


def test_a_prepared_select_finds_nothing_of_another_agency(make_agency):
    conversation = _conversation_with_lead(make_agency)
    other = make_agency("Otra").agency
    query = _query()
    assert query.run(agency_id=other.id, conversation_id=conversation.id) == []
    assert query.run(agency_id=conversation.agency_id, conversation_id=uuid.uuid4()) == []


def test_a_prepared_values_list_gives_tuples_and_each_thread_compiles_its_own(make_agency):
    import threading

    from chat.models import Turn
    from project.db.prepared import PreparedSelect

    conversation = _conversation_with_lead(make_agency)
    for seq, text in ((1, "Hola"), (2, "¿Qué tal, Íñigo?")):
        with scope(agency=conversation.agency_id):
            Turn.objects.create(agency_id=conversation.agency_id, conversation=conversation, seq=seq, role="lead", text=text)

    def build(*, agency_id, conversation_id):
        with scope(agency=agency_id):
            return Turn.objects.filter(conversation_id=conversation_id).order_by("-seq").values_list("seq", "text")

    query = PreparedSelect(build, agency_id=Turn._meta.get_field("agency"),
                           conversation_id=Turn._meta.get_field("conversation"))
    assert query.run(agency_id=conversation.agency_id, conversation_id=conversation.id) == [
        (2, "¿Qué tal, Íñigo?"), (1, "Hola")]
    main_plan = query._local.plan
    seen = []
    # The thread's own connection, as run() passes it.
    thread = threading.Thread(target=lambda: seen.append(query._plan(connections["default"]) is not main_plan))
    thread.start()
    thread.join()
    assert seen == [True]


def test_a_slot_must_be_a_parameter_of_the_query_once(make_agency):
    from chat.models import Conversation
    from project.db.prepared import PreparedSelect

    conversation = _conversation_with_lead(make_agency)

    def build(*, agency_id, conversation_id):  # conversation_id never reaches the SQL
        with scope(agency=agency_id):
            return Conversation.objects.all()[:1]

    query = PreparedSelect(build, agency_id=Conversation._meta.get_field("agency"), conversation_id=Conversation._meta.pk)
    with pytest.raises(ValueError, match="conversation_id appears 0 times"):
        query.run(agency_id=conversation.agency_id, conversation_id=conversation.id)


def test_a_model_with_auto_now_is_refused(make_agency):
    from project.db.prepared import instance_update, instances_insert
    from tenancy.models import Agency

    agency = make_agency("Sello").agency  # Agency.updated is auto_now: only save() stamps it
    with pytest.raises(ValueError, match="auto_now"):
        instances_insert([Agency(name="Nueva", slug=f"nueva-{uuid.uuid4().hex[:8]}")])
    with pytest.raises(ValueError, match="auto_now"):
        instance_update(agency, ["name", "updated"])
