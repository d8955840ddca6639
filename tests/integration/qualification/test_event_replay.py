"""Event sourcing: replaying a lead's events reproduces its stored state
exactly, over hundreds of generated conversations (answers, invalid answers,
edits, corrections, consent given, declined or withdrawn)."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

POOL = {
    "consent": ["sí, acepto", "vale", "quizás", "no"],
    "name": ["Ana", "Soy Luis Pérez", "x", "me llamo maría lópez"],
    "company": ["Panadería Sol", "Reformas Luis", "Soy Ana de Clínica Sonrisa"],
    "sector": ["tienda online", "tengo un restaurante", "software b2b", "una academia", "nada que ver"],
    "platform": ["Shopify", "woo", "otra", "???"],
    "website": ["no tengo", "miweb.com", "http://tienda.example.es/inicio", "no sé"],
    "goals": ["vender más", "marca y clientes", "nada", "reservas"],
    "audience": ["familias", "pymes de Madrid", "ok"],
    "channels": ["seo", "redes y email", "ninguno", "??"],
    "budget_monthly": ["200 €", "2.000 € al mes", "ni idea", "entre 1.000 y 3.000", "2k"],
    "timeline": ["ya", "más adelante", "1-3 meses", "mañana no sé"],
    "email": ["ana@x.es", "malo", "Ana@Empresa.COM"],
    "phone": ["612345678", "prefiero no", "123", "+34 699 11 22 33"],
    "done": ["gracias", "en realidad mi presupuesto es 3.000 €", "perdona, mi email es otra@x.es"],
    "declined": ["vale, acepto", "adiós"],
}
FIELDS = ["sector", "platform", "website", "goals", "budget_monthly", "timeline", "email", "name", "company"]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.integers(0, 9)),
        st.tuples(st.just("edit"), st.sampled_from(FIELDS)),
        st.tuples(st.just("consent"), st.booleans()),
        st.tuples(st.just("correct"), st.sampled_from(["en realidad mi presupuesto es 3.000 €",
                                                       "me equivoqué, el sector es hostelería",
                                                       "perdona, mi email es nuevo@correo.es"])),
    ),
    min_size=1, max_size=18,
)


@pytest.fixture
def agency(make_agency):
    return make_agency("Replay")


def _run(agency_users, plan) -> None:
    from chat.models import Conversation
    from chat.services import lead_message_receive
    from project.api.errors import ApplicationError
    from qualification.services import flow_version_current, lead_start, qualification_consent, qualification_edit
    from tenancy.actors import VisitorActor

    agency = agency_users.agency
    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, flow_version=flow_version_current(agency_id=agency.id))
        lead_start(conversation=conversation)
    visitor = VisitorActor(agency_id=agency.id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    for kind, value in plan:
        with scope(agency=agency.id):
            step = Conversation.objects.values_list("step", flat=True).get(id=conversation.id)
        try:
            if kind == "say":
                pool = POOL.get(step, ["hola"])
                lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=pool[value % len(pool)])
            elif kind == "correct":
                lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=value)
            elif kind == "edit":
                qualification_edit(visitor=visitor, field=value)
            else:
                qualification_consent(visitor=visitor, granted=value, policy="1")
        except ApplicationError:
            pass  # e.g. editing a question off the path: refused, nothing stored


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=actions)
def test_replay_equals_stored_state(agency, plan):
    from qualification.models import Lead
    from qualification.projection import fold
    from qualification.selectors import lead_events_all
    from qualification.services import lead_projection_matches

    _run(agency, plan)
    with scopes_disabled():
        lead = Lead.objects.order_by("-created").first()
    state = fold(lead_events_all(lead))
    assert lead_projection_matches(lead, state) == []
    # The invariants the engine promises, whatever happened.
    if not state.consent_granted:
        assert not {"name", "company", "email", "phone", "website"} & set(state.answers)
    if state.status == "declined":
        assert state.answers == {"consent": False}


def test_rebuild_leads_command_checks_everything(agency, capsys):
    for plan in ([("say", 0), ("say", 0), ("say", 0), ("say", 1)], [("say", 3)], [("consent", True), ("edit", "name")]):
        _run(agency, plan)
    call_command("rebuild_leads")
    out = capsys.readouterr().out
    assert "checked 3 leads, 0 differed" in out


def test_rebuild_leads_detects_and_fixes_tampering(agency, capsys):
    from qualification.models import Lead

    _run(agency, [("say", 0), ("say", 0), ("say", 0)])
    with scopes_disabled():
        Lead.objects.all().update(score=99, answers_version=0)
    with pytest.raises(SystemExit):
        call_command("rebuild_leads")
    call_command("rebuild_leads", "--fix")
    call_command("rebuild_leads")
    assert "0 differed" in capsys.readouterr().out.splitlines()[-1]
