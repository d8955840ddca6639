"""The default Spanish flow driven through the real lead socket, on the
offline provider (no LLM at all): typed answers, reasons, branches, edits,
consent, scoring and the event-sourced lead."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

# Leads here answer faster than a person types: lift the message rate limit.
FAST = {"OFFLINE_TOKENS_PER_SECOND": "0", "CHAT_RATE_BURST": "100", "CHAT_RATE_MESSAGES": "1000"}


class Lead:
    def __init__(self, socket):
        self.socket = socket

    async def answer(self, text: str) -> tuple[dict, dict]:
        """Send a message; return the qualification frame and the assistant's reply."""
        await self.socket.say(text)
        qualification = await self.socket.until_type("qualification")
        reply = await self.socket.assistant_reply()
        return qualification, reply

    async def send(self, frame: dict) -> tuple[dict, dict]:
        await self.socket.send(frame)
        qualification = await self.socket.until_type("qualification")
        reply = await self.socket.assistant_reply()
        return qualification, reply


async def _start(web_pool, make_agency, session_for, lead_socket, **agency_kwargs):
    server = web_pool(0, **FAST)
    a = await sync_to_async(make_agency)(**agency_kwargs)
    session = session_for(server, a.key.key)
    socket = await lead_socket.connect(server, session["visitor_token"])
    first = await socket.until_type("qualification")
    await socket.assistant_reply()
    assert first["step"] == "consent" and first["progress"] == 0
    return a, session, Lead(socket)


@sync_to_async
def _lead(conversation_id):
    from qualification.models import Lead as LeadModel

    with scopes_disabled():
        return LeadModel.objects.get(conversation_id=conversation_id)


@sync_to_async
def _lead_events(conversation_id):
    from qualification.models import LeadEvent

    with scopes_disabled():
        return list(LeadEvent.objects.filter(lead__conversation_id=conversation_id).order_by("seq").values_list("type", "data"))


async def test_full_default_flow_reaches_done_with_typed_answers(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    script = [
        ("Sí, acepto", "name"),
        ("Me llamo Ana García", "company"),
        ("Panadería Sol", "sector"),
        ("Vendemos por internet, es una tienda online", "platform"),
        ("Shopify", "website"),
        ("panaderiasol.es", "goals"),
        ("Vender más y captar clientes", "audience"),
        ("Familias de Valencia de 30 a 50 años", "channels"),
        ("Instagram y un poco de SEO", "budget_monthly"),
        ("unos 2.000 € al mes", "timeline"),
        ("cuanto antes", "email"),
        ("MiEmpresa@Correo.es", "phone"),
        ("+34 612 34 56 78", "done"),
    ]
    progress = 0.0
    for text, expected_step in script:
        qualification, reply = await lead.answer(text)
        assert qualification["step"] == expected_step, (text, qualification)
        assert qualification["progress"] >= progress
        progress = qualification["progress"]
        assert reply["text"]
    assert qualification["progress"] == 1
    answers = qualification["answers"]
    assert answers == {
        "consent": True, "name": "Ana García", "company": "Panadería Sol", "sector": "ecommerce",
        "platform": "shopify", "website": "https://panaderiasol.es", "goals": ["vender_online", "captar_leads"],
        "audience": "Familias de Valencia de 30 a 50 años", "channels": ["redes_sociales", "seo"],
        "budget_monthly": 2000, "timeline": "inmediato", "email": "miempresa@correo.es", "phone": "+34612345678",
    }
    assert "estrategia" in reply["text"]
    stored = await _lead(session["conversation"])
    assert stored.status == "qualified" and stored.score is not None and stored.score_reasons
    assert stored.email == "miempresa@correo.es" and stored.phone == "+34612345678"
    assert float(stored.budget_monthly) == 2000.0


async def test_invalid_email_is_asked_again_with_reason(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    for text in ["Sí", "Luis", "Reformas Luis", "servicios locales", "no tengo", "captar clientes",
                 "vecinos de mi barrio", "ninguno", "1.000 euros", "en 1-3 meses"]:
        qualification, _ = await lead.answer(text)
    assert qualification["step"] == "email"
    qualification, reply = await lead.answer("luis.reformas.com")
    assert qualification["step"] == "email"
    assert "falta la @" in reply["text"]
    assert "email" in reply["text"].lower() or "correo" in reply["text"].lower()
    qualification, _ = await lead.answer("luis@reformas.com")
    assert qualification["step"] == "phone"


async def test_edit_sector_drops_platform_and_reroutes(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    for text in ["Sí", "Marta", "Moda Marta", "tienda online", "WooCommerce"]:
        qualification, _ = await lead.answer(text)
    assert qualification["answers"]["platform"] == "woocommerce" and qualification["step"] == "website"
    qualification, reply = await lead.send({"type": "edit", "field": "sector"})
    assert qualification["step"] == "sector" and "sector" not in qualification["answers"]
    assert "sector" in reply["text"].lower()
    qualification, _ = await lead.answer("Servicios locales, tengo una academia")
    assert qualification["answers"]["sector"] == "servicios_locales"
    assert "platform" not in qualification["answers"]
    assert qualification["step"] == "website"
    events = await _lead_events(session["conversation"])
    dropped = [d for t, d in events if t == "answer.dropped"]
    assert dropped == [{"field": "platform", "value": "woocommerce", "reason": "off_path"}]


async def test_natural_language_correction_and_low_budget_short_path(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    for text in ["vale", "Pedro", "Bar Pedro", "hostelería, tengo un bar", "no tengo web", "más reservas",
                 "gente del barrio", "redes sociales"]:
        qualification, _ = await lead.answer(text)
    qualification, _ = await lead.answer("200 euros al mes")
    # Under the agency's self-serve threshold: timeline is skipped.
    assert qualification["step"] == "email"
    qualification, reply = await lead.answer("en realidad mi presupuesto es 3.000 €")
    assert qualification["answers"]["budget_monthly"] == 3000
    assert qualification["step"] == "timeline"
    assert "presupuesto" in reply["text"]


async def test_nothing_personal_before_consent_and_decline(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    qualification, reply = await lead.answer("Soy Ana García, de Panadería Sol, ana@sol.es, 612345678")
    assert qualification["step"] == "consent"
    assert qualification["answers"] == {}
    stored = await _lead(session["conversation"])
    assert (stored.name, stored.company, stored.email, stored.phone, stored.email_index) == ("", "", "", "", "")
    events = await _lead_events(session["conversation"])
    flat = repr(events)
    for personal in ("Ana", "Panadería", "ana@sol.es", "612345678"):
        assert personal not in flat
    qualification, reply = await lead.answer("No, gracias")
    assert qualification["step"] == "declined"
    assert qualification["answers"] == {"consent": False}
    assert "no guardaré" in reply["text"]
    stored = await _lead(session["conversation"])
    assert stored.status == "declined" and stored.name == ""


async def test_consent_frame_records_policy_and_text(web_pool, transactional_db, make_agency, session_for, lead_socket):
    a, session, lead = await _start(web_pool, make_agency, session_for, lead_socket)
    qualification, _ = await lead.send({"type": "consent", "granted": True, "policy": "1"})
    assert qualification["step"] == "name" and qualification["answers"]["consent"] is True

    @sync_to_async
    def consents():
        from qualification.models import ConsentRecord

        with scopes_disabled():
            return list(ConsentRecord.objects.filter(conversation_id=session["conversation"]).values("granted", "policy_version", "text"))

    records = await consents()
    assert len(records) == 1 and records[0]["granted"] is True and records[0]["policy_version"] == "1"
    assert "privacidad" in records[0]["text"]
