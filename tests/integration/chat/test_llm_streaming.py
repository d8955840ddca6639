"""The assistant on an OpenAI-compatible upstream (the loopback double, real
SDK in the server): phrasing, usage, retries, cuts and the offline fallback."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

from tests.doubles.openai_server import OpenAIDouble

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture(scope="session")
def double():
    with OpenAIDouble(tokens_per_second=200) as d:
        yield d


@pytest.fixture
def llm_server(web_pool, double, transactional_db):
    double.reset()
    return web_pool(0, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=double.base_url, OPENAI_MAX_RETRIES="2",
                    OPENAI_FIRST_TOKEN_TIMEOUT="2", OFFLINE_TOKENS_PER_SECOND="0", CHAT_RATE_BURST="100")


@sync_to_async
def _assistant_turns(conversation_id):
    from chat.models import Turn

    with scopes_disabled():
        return list(Turn.objects.filter(conversation_id=conversation_id, role="assistant").order_by("seq")
                    .values("text", "provider", "completion_tokens", "stopped", "failed", "first_token_ms"))


async def _open(llm_server, make_agency, session_for, lead_socket):
    a = await sync_to_async(make_agency)()
    session = session_for(llm_server, a.key.key)
    lead = await lead_socket.connect(llm_server, session["visitor_token"])
    return session, lead


async def test_llm_phrases_the_reply_and_usage_is_recorded(llm_server, double, make_agency, session_for, lead_socket):
    double.script(text="¡Hola! Soy Lucía, la asistente. ¿Me das permiso para guardar tus datos según la política?")
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    reply = await lead.assistant_reply()
    assert reply["text"].startswith("¡Hola! Soy Lucía")
    assert lead.streamed_text(reply["turn"]) == reply["text"]
    sent = double.requests[-1]["body"]
    assert sent["messages"][0]["role"] == "system" and "MENSAJE INDICADO" in sent["messages"][-1]["content"]
    turns = await _assistant_turns(session["conversation"])
    assert turns[0]["provider"] == "openai" and turns[0]["completion_tokens"] > 5
    assert turns[0]["first_token_ms"] is not None


async def test_stream_cut_gives_llm_unavailable_and_the_conversation_goes_on(llm_server, double, make_agency,
                                                                            session_for, lead_socket):
    double.script(text="Hola, esto se va a cortar a mitad de la frase porque el proveedor falla de repente.")
    double.fail("cut", after_chunks=3)
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    error = await lead.until_type("error")
    assert error["code"] == "llm_unavailable"
    failed = await lead.until(lambda f: f.get("type") == "turn.completed")
    assert failed["stopped"] is True and failed.get("failed") is True
    assert "Hola" in failed["text"]
    recovered = await lead.assistant_reply()
    assert recovered["stopped"] is False and "privacidad" in recovered["text"]
    # The conversation goes on (the upstream is healthy again).
    await lead.say("Sí, acepto")
    nxt = await lead.assistant_reply()
    assert "llamas" in nxt["text"]
    turns = await _assistant_turns(session["conversation"])
    assert [t["provider"] for t in turns] == ["openai", "offline", "openai"]
    assert turns[0]["failed"] is True


async def test_429_retried_by_the_sdk_without_the_lead_noticing(llm_server, double, make_agency, session_for, lead_socket):
    double.fail("429", times=2, retry_after=0.05)
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    reply = await lead.assistant_reply()
    assert not [f for f in lead.frames if f.get("type") == "error"]
    assert "privacidad" in reply["text"]
    assert len(double.requests) == 3


async def test_500_after_retries_degrades_to_offline_then_breaker_skips_upstream(llm_server, double, make_agency,
                                                                                session_for, lead_socket):
    double.fail("500", times=100)
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    assert (await lead.until_type("error"))["code"] == "llm_unavailable"
    reply = await lead.assistant_reply()
    assert "privacidad" in reply["text"]
    assert len(double.requests) == 3  # first try + max_retries
    for text in ("Sí, acepto", "Me llamo Ana"):
        await lead.say(text)
        await lead.assistant_reply()
    calls = len(double.requests)
    # Three failing replies and one failing answer extraction (at «name»), three attempts each.
    assert calls == 12
    # The breaker is now open for this agency: the next reply does not call upstream at all.
    await lead.say("Panadería Sol")
    reply = await lead.assistant_reply()
    assert "sector" in reply["text"]
    assert len(double.requests) == calls
    double.reset()


async def test_llm_finds_the_answer_and_the_rules_check_it(llm_server, double, make_agency, session_for, lead_socket):
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    await lead.assistant_reply()
    for text in ("Sí, acepto", "Me llamo Ana"):
        await lead.say(text)
        await lead.assistant_reply()
    double.script(json={"company": "Sol & Luna"})
    await lead.say("Trabajamos bajo la marca Sol & Luna desde 2010")
    qualification = await lead.until_type("qualification")
    assert qualification["answers"]["company"] == "Sol & Luna"
    extraction = next(r for r in reversed(double.requests) if r["body"].get("response_format"))
    body = extraction["body"]
    assert body["response_format"]["json_schema"]["strict"] is True
    assert "company" in body["response_format"]["json_schema"]["schema"]["required"]
    # The lead's words travel as the user's data, never inside the instructions.
    assert body["messages"][-1] == {"role": "user", "content": "Trabajamos bajo la marca Sol & Luna desde 2010"}
    assert "Sol & Luna" not in body["messages"][0]["content"]
    await lead.assistant_reply()


async def test_llm_values_the_rules_reject_are_ignored(llm_server, double, make_agency, session_for, lead_socket):
    session, lead = await _open(llm_server, make_agency, session_for, lead_socket)
    await lead.assistant_reply()
    for text in ("Sí, acepto", "Me llamo Ana", "Pastelería Nube", "tienda online", "Shopify", "no tengo",
                 "vender más", "familias", "redes sociales"):
        await lead.say(text)
        await lead.assistant_reply()
    # At «budget_monthly» the LLM proposes something that is not an amount, and a made-up email.
    double.script(json={"budget_monthly": "bastante", "email": "inventado@x.es"})
    await lead.say("unos 1.500 € al mes")
    qualification = await lead.until_type("qualification")
    assert qualification["answers"]["budget_monthly"] == 1500
    assert "email" not in qualification["answers"] or qualification["answers"]["email"] != "inventado@x.es"


async def test_daily_token_quota_falls_back_offline_without_upstream_calls(llm_server, double, make_agency,
                                                                          session_for, lead_socket):
    @sync_to_async
    def agency_with_quota():
        a = make_agency()
        a.agency.settings = {**a.agency.settings, "llm_daily_token_quota": 20}
        a.agency.save(update_fields=["settings"])
        return a

    a = await agency_with_quota()
    session = session_for(llm_server, a.key.key)
    lead = await lead_socket.connect(llm_server, session["visitor_token"])
    await lead.assistant_reply()  # this reply uses the LLM and spends more than 20 tokens
    calls = len(double.requests)
    await lead.say("Sí, acepto")
    reply = await lead.assistant_reply()
    assert "llamas" in reply["text"] and not [f for f in lead.frames if f.get("type") == "error"]
    assert len(double.requests) == calls
    turns = await _assistant_turns(session["conversation"])
    assert [t["provider"] for t in turns] == ["openai", "offline"]
