"""A qualified lead's strategy through the real pieces: lead socket on a
daphne process, tasks on a real Celery worker over Redis, email through an
SMTP server, the PDF behind its signed link — and a worker killed mid-way."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled
from pypdf import PdfReader

from tests.doubles.openai_server import OpenAIDouble
from tests.integration.strategy.conftest import FAST, LEAD_EMAIL, await_until, qualify, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _strategies(conversation_id):
    from strategy.models import Strategy

    with scopes_disabled():
        return list(Strategy.objects.filter(lead__conversation_id=conversation_id).select_related("lead"))


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _strategy_frames(socket) -> list[dict]:
    return [f for f in socket.frames if f.get("type") == "strategy"]


async def test_qualified_lead_gets_ready_pdf_link_and_exactly_one_email(
        web_pool, make_agency, session_for, lead_socket, workers, broker_url, smtp_sink, login):
    from strategy.writer.formatting import format_eur

    server = web_pool(0, CELERY_BROKER_URL=broker_url, **FAST)
    workers()
    agency = await sync_to_async(make_agency)("Sol")
    session = session_for(server, agency.key.key)
    socket = await lead_socket.connect(server, session["visitor_token"])
    await qualify(socket)

    ready = await socket.until_type("strategy", timeout=90, status="ready")
    statuses = [f["status"] for f in _strategy_frames(socket)]
    assert statuses == ["queued", "generating", "ready"], statuses
    seqs = [f["seq"] for f in _strategy_frames(socket)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert ready["pdf_url"].startswith(server.base_url + "/api/v1/strategies/")

    # The link works without a login, and is a real strategy for this lead.
    response = httpx.get(ready["pdf_url"], timeout=20)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "no-store" in response.headers["cache-control"]
    text = _pdf_text(response.content)
    assert "Panadería Sol" in text
    [strategy] = await sync_to_async(_strategies)(session["conversation"])
    assert strategy.status == "ready" and strategy.answers_version == strategy.lead.answers_version
    plan = strategy.content["channel_plan"]
    assert abs(sum(item["monthly_budget"] for item in plan) - 2000) <= 20
    for item in plan:
        assert item["channel"] in text
        assert format_eur(item["monthly_budget"]) in text
    from strategy.writer import get_template

    flat = " ".join(text.lower().split())
    for title in get_template("ecommerce").titles.values():
        assert " ".join(title.lower().split()) in flat, title

    # One email to the lead, the PDF attached, and a notice to the agency.
    to_lead = wait_until(lambda: smtp_sink.to(LEAD_EMAIL), timeout=30)
    assert len(to_lead) == 1
    message = to_lead[0]
    assert "Panadería Sol" in message["Subject"]
    attachments = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 1 and attachments[0].get_content().startswith(b"%PDF")
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    import re

    [emailed_link] = re.findall(r"https?://\S+/pdf\?token=\S+", message.get_body(("plain",)).get_content())
    assert emailed_link.startswith(ready["pdf_url"].split("?")[0])
    assert httpx.get(emailed_link, timeout=20).content == response.content
    wait_until(lambda: smtp_sink.to(agency.owner.email), timeout=30)

    # Staff see it on the lead and fetch it with their token; nobody else can.
    client, _ = await sync_to_async(login)(agency.viewer)
    lead = (await sync_to_async(client.get)(f"/api/v1/leads/{strategy.lead_id}/")).json()
    assert lead["strategy"]["status"] == "ready" and lead["strategy"]["id"] == str(strategy.id)
    detail = await sync_to_async(client.get)(f"/api/v1/strategies/{strategy.id}/")
    assert detail.status_code == 200 and detail.json()["content"]["channel_plan"] == plan
    pdf = await sync_to_async(client.get)(f"/api/v1/strategies/{strategy.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert httpx.get(f"{server.base_url}/api/v1/strategies/{strategy.id}/pdf", timeout=10).status_code == 401
    forged = ready["pdf_url"][:-3] + ("AAA" if not ready["pdf_url"].endswith("AAA") else "BBB")
    assert httpx.get(forged, timeout=10).status_code == 404
    other = ready["pdf_url"].replace(str(strategy.id), str(uuid.uuid4()))
    assert httpx.get(other, timeout=10).status_code == 404

    # The same task run again (a duplicate delivery) writes, renders and sends nothing new.
    from django.core import mail

    from strategy.services import strategy_generate

    before = strategy.pdf_sha256
    await sync_to_async(strategy_generate)(strategy_id=strategy.id, agency_id=strategy.agency_id)
    [again] = await sync_to_async(_strategies)(session["conversation"])
    assert again.pdf_sha256 == before and again.lead_emailed_at == strategy.lead_emailed_at
    assert mail.outbox == [] and len(smtp_sink.to(LEAD_EMAIL)) == 1
    assert [f["status"] for f in _strategy_frames(socket)] == ["queued", "generating", "ready"]
    await socket.close()


async def test_worker_killed_during_generation_still_gives_one_strategy_and_one_email(
        web_pool, make_agency, session_for, lead_socket, workers, broker_url, smtp_sink):
    """SIGKILL while the LLM is writing: the unacknowledged task comes back
    after the visibility timeout, and the lead still gets exactly one
    strategy, one PDF and one email. The LLM then answers JSON that breaks
    the schema, so the pipeline also shows the retry and the template fallback."""
    double = OpenAIDouble().start()
    try:
        double.fail("timeout", delay=6)  # the first strategy call hangs: the worker dies inside it
        llm = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": double.base_url, "CELERY_VISIBILITY_TIMEOUT": "8"}
        server = web_pool(0, CELERY_BROKER_URL=broker_url, **FAST)
        first = workers(**llm)
        agency = await sync_to_async(make_agency)("Kill")
        session = session_for(server, agency.key.key)
        socket = await lead_socket.connect(server, session["visitor_token"])
        await qualify(socket)
        await socket.until_type("strategy", timeout=60, status="generating")
        await await_until(sync_to_async(lambda: len(double.requests) >= 1), timeout=30)
        first.kill()

        second = workers(**llm)
        ready = await socket.until_type("strategy", timeout=120, status="ready")
        [strategy] = await sync_to_async(_strategies)(session["conversation"])
        assert strategy.status == "ready" and strategy.attempts == 2, second.log()[-2000:]
        assert strategy.writer == "offline" and len(strategy.qa_failures) == 2
        assert all(reasons for reasons in strategy.qa_failures)
        assert len(double.requests) == 3  # the killed call, then two rejected by QA
        assert all(reasons[0].startswith("provider:") for reasons in strategy.qa_failures)

        assert len(wait_until(lambda: smtp_sink.to(LEAD_EMAIL), timeout=30)) == 1
        response = httpx.get(ready["pdf_url"], timeout=20)
        assert response.status_code == 200 and "Panadería Sol" in _pdf_text(response.content)
        # Nothing else turns up later either.
        await socket.close()
        import time as _time

        _time.sleep(2)
        assert len(smtp_sink.to(LEAD_EMAIL)) == 1
        assert len(await sync_to_async(_strategies)(session["conversation"])) == 1
    finally:
        double.stop()
