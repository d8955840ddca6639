"""The strategy services on MariaDB, in-process (tasks on the embedded pool):
LLM faults, QA retries and the fallback, tenant isolation, RGPD erasure."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from tests.doubles.openai_server import OpenAIDouble
from tests.integration.leads import qualified_lead
from tests.integration.strategy.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _qualified_lead(agency_users):
    return qualified_lead(agency_users.agency)


def _ready(lead):
    from strategy.models import Strategy

    def check():
        with scopes_disabled():
            found = Strategy.objects.filter(lead=lead, status="ready").first()
        return found if found and found.agency_notified_at else None

    return wait_until(check, timeout=60)


@pytest.fixture
def double(settings):
    server = OpenAIDouble().start()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = server.base_url
    yield server
    server.stop()


def test_invalid_json_then_qa_failure_retry_then_the_template_writer(make_agency, double):
    double.fail("invalid_json", times=5)
    lead = _qualified_lead(make_agency("Json"))
    strategy = _ready(lead)
    assert strategy.writer == "offline" and strategy.attempts == 1
    assert len(strategy.qa_failures) == 2 and all(strategy.qa_failures)
    structured = [r for r in double.requests if r["body"].get("response_format")]
    assert len(structured) >= 2
    assert strategy.content["executive_summary"] and strategy.pdf_name
    assert [m.to for m in mail.outbox if "Tu estrategia" in m.subject] == [["miempresa@correo.es"]]


def test_a_strategy_failing_qa_is_retried_with_the_reasons_then_replaced(make_agency, double):
    from strategy.writer import write_strategy_offline

    agency_users = make_agency("Qa")
    answers_like = {"sector": "ecommerce", "budget_monthly": 2000, "company": "Panadería Sol",
                    "goals": ["vender_online"], "channels": ["redes_sociales", "seo"]}
    bad = write_strategy_offline(answers=answers_like, agency_name=agency_users.agency.name, knowledge=[])
    # Schema-valid, but the plan spends twice the lead's budget.
    bad["channel_plan"] = [{**item, "monthly_budget": item["monthly_budget"] * 2} for item in bad["channel_plan"]]
    double.script(json=bad)
    double.script(json=bad)
    lead = _qualified_lead(agency_users)
    strategy = _ready(lead)
    assert strategy.writer == "offline" and len(strategy.qa_failures) == 2
    assert all(not reasons[0].startswith("provider:") for reasons in strategy.qa_failures)
    structured = [r["body"] for r in double.requests if r["body"].get("response_format")]
    retry = structured[-1]["messages"][-1]["content"]
    assert "Corrígelos" in retry and any(reason in retry for reason in strategy.qa_failures[0])
    assert abs(sum(i["monthly_budget"] for i in strategy.content["channel_plan"]) - 2000) <= 20


def test_a_valid_llm_strategy_is_accepted_and_cites_only_known_documents(make_agency, double):
    from strategy.writer import write_strategy_offline

    agency_users = make_agency("Llm")
    answers_like = {"sector": "ecommerce", "budget_monthly": 2000, "company": "Panadería Sol",
                    "goals": ["vender_online"], "channels": ["redes_sociales", "seo"]}
    good = write_strategy_offline(answers=answers_like, agency_name=agency_users.agency.name, knowledge=[])
    good = {**good, "executive_summary": good["executive_summary"] + " Redactado por el modelo."}
    double.script(json=good)
    lead = _qualified_lead(agency_users)
    strategy = _ready(lead)
    assert strategy.writer == "llm", strategy.qa_failures
    assert strategy.content["executive_summary"].endswith("Redactado por el modelo.")
    assert strategy.prompt_tokens > 0 and strategy.completion_tokens > 0


def test_another_agencys_strategy_is_not_found_and_links_are_bound_to_one_strategy(two_agencies, login):
    from strategy.links import strategy_pdf_token

    a, b = two_agencies
    lead_a, lead_b = _qualified_lead(a), _qualified_lead(b)
    sa, sb = _ready(lead_a), _ready(lead_b)
    client, _ = login(a.viewer)
    assert client.get(f"/api/v1/strategies/{sa.id}/").status_code == 200
    for url in (f"/api/v1/strategies/{sb.id}/", f"/api/v1/strategies/{sb.id}/pdf",
                f"/api/v1/strategies/{uuid.uuid4()}/", "/api/v1/strategies/not-a-uuid/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    # A's link opens A's PDF only, whoever asks; B's id with A's token is refused.
    from rest_framework.test import APIClient

    anonymous = APIClient()
    token = strategy_pdf_token(strategy_id=sa.id, agency_id=a.agency.id)
    assert anonymous.get(f"/api/v1/strategies/{sa.id}/pdf", {"token": token}).status_code == 200
    assert anonymous.get(f"/api/v1/strategies/{sb.id}/pdf", {"token": token}).status_code == 404
    forged = strategy_pdf_token(strategy_id=sb.id, agency_id=a.agency.id)
    assert anonymous.get(f"/api/v1/strategies/{sb.id}/pdf", {"token": forged}).status_code == 404
    # The lead detail of B's lead is not A's either.
    assert client.get(f"/api/v1/leads/{lead_b.id}/").status_code == 404


def test_expired_links_stop_working(make_agency, settings):
    from strategy.links import strategy_pdf_url

    lead = _qualified_lead(make_agency("Exp"))
    strategy = _ready(lead)
    url = strategy_pdf_url(strategy_id=strategy.id, agency_id=strategy.agency_id, server_base="")
    assert url.startswith("http://localhost:8000/api/v1/strategies/")
    from rest_framework.test import APIClient

    path = url.split("localhost:8000", 1)[1]
    assert APIClient().get(path).status_code == 200
    settings.STRATEGY_PDF_LINK_TTL_DAYS = -1
    assert APIClient().get(path).status_code == 404


def test_erasure_removes_the_strategy_text_and_its_pdf(make_agency, login):
    from django.core.files.storage import default_storage

    from strategy.models import Strategy

    agency_users = make_agency("Erase")
    lead = _qualified_lead(agency_users)
    strategy = _ready(lead)
    assert default_storage.exists(strategy.pdf_name)
    client, _ = login(agency_users.owner)
    assert client.delete(f"/api/v1/leads/{lead.id}/").status_code == 204
    with scopes_disabled():
        erased = Strategy.objects.get(id=strategy.id)
    assert erased.content is None and erased.summary == "" and erased.pdf_name == ""
    assert not default_storage.exists(strategy.pdf_name)
    assert client.get(f"/api/v1/strategies/{strategy.id}/pdf").status_code == 404
    # Statistics survive: status and writer stay.
    assert erased.status == "ready" and erased.writer


def test_an_edit_after_qualification_queues_one_new_strategy_for_the_new_answers(make_agency):
    from qualification.services import qualification_edit
    from chat.services import lead_message_receive
    from strategy.models import Strategy
    from tenancy.actors import VisitorActor

    agency_users = make_agency("Edit")
    lead = _qualified_lead(agency_users)
    first = _ready(lead)
    conversation = lead.conversation
    visitor = VisitorActor(agency_id=lead.agency_id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    qualification_edit(visitor=visitor, field="budget_monthly")
    lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text="3.000 € al mes")

    def second_ready():
        with scopes_disabled():
            return Strategy.objects.filter(lead=lead, status="ready").exclude(id=first.id).first()

    second = wait_until(second_ready, timeout=60)
    assert second.answers_version > first.answers_version
    assert abs(sum(i["monthly_budget"] for i in second.content["channel_plan"]) - 3000) <= 30
    with scopes_disabled():
        assert Strategy.objects.filter(lead=lead).count() == 2
