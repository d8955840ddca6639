"""Issue 11's end-to-end onboarding in real Chromium, as a new agency's owner
does it on its own: sign up, sign in, set the branding, allow the site's
origin, copy the snippet into the site's page, chat there; then edit the
flow (one more question, published) and see a new conversation asked it
while the conversation that started before keeps its version.

The steps are the ones the setup and flow-editor tests use
(tests/browser/console_setup.py, console_flows.py); this test chains them
on one agency, from sign-up, with nobody's help."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from tests.browser import console_flows as flows
from tests.browser import console_setup as cs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

QUESTION = "¿Cuántos empleados tiene tu empresa?"


def test_a_new_agency_goes_live_and_changes_its_flow_without_help(web_pool, transactional_db, in_browser, site,
                                                                  screenshots, tmp_path):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="60", CHAT_RATE_BURST="100")
    owner = cs.sign_up(server, agency="Estudio Brisa", name="Marta Ruiz")
    logo = cs.png_logo(tmp_path / "logo.png", colour="#7c3aed")

    def scenario(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        out: dict = {"errors": errors}

        # The owner's first sign-in lands on the checklist.
        cs.login(page, server.base_url, owner["email"], owner["password"])
        page.wait_for_url("**/console/setup")
        cs.set_branding(page, colour="#7c3aed", logo=logo, greeting="¡Hola! ¿Hablamos de tu negocio?")
        cs.add_origin(page, site.origin)
        cs.wait_step_done(page, "origin")
        snippet = cs.copy_snippet(page)
        page.screenshot(path=screenshots / "onboarding-1-install-desktop.png")

        # The snippet on the customer's page: a lead chats through it, in the agency's colours.
        cs.paste_into_site(site, snippet, title="Clínica Brisa")
        old_lead = cs.chat_on_site(browser, site)
        out["header"] = old_lead.locator("header").first.evaluate("h => getComputedStyle(h).backgroundColor")
        old_lead.screenshot(path=screenshots / "onboarding-2-site-chat-desktop.png")
        cs.wait_step_done(page, "install")
        out["steps"] = {s: cs.step(page, s).get_attribute("data-done")
                        for s in ("branding", "origin", "install", "clientify")}
        page.screenshot(path=screenshots / "onboarding-3-checklist-desktop.png")

        # The flow: one more question right after the consent, published as version 2.
        out["version"] = flows.add_question_and_publish(page, server.base_url, prompt_es=QUESTION,
                                                        prompt_en="How many employees does your company have?",
                                                        field="employees", type_label="Número", position=2)
        page.screenshot(path=screenshots / "onboarding-4-published-desktop.png")

        # A new visitor (a browser of their own) is asked the new question…
        visitor_context = browser.new_context(viewport={"width": 1280, "height": 800})
        visitor = visitor_context.new_page()
        visitor.on("pageerror", lambda e: errors.append(str(e)))
        visitor.goto(site.origin + "/")
        visitor.get_by_role("button", name="Abrir el chat").click()
        visitor.locator(".chips button", has_text="Acepto").click()
        visitor.locator(".msg.assistant:not(.caret)", has_text="empleados").wait_for(timeout=30000)
        box = visitor.get_by_role("textbox")
        box.fill("Somos 12")
        box.press("Enter")
        visitor.locator(".msg.assistant:not(.caret)", has_text="llamas").wait_for(timeout=30000)
        visitor.screenshot(path=screenshots / "onboarding-5-new-visitor-desktop.png")

        # …while the lead who started before goes on with version 1: after the company, the sector.
        box = old_lead.get_by_role("textbox")
        box.fill("Clínica Brisa SL")
        box.press("Enter")
        old_lead.locator(".msg.assistant:not(.caret)", has_text="sector").wait_for(timeout=30000)
        out["old_texts"] = old_lead.locator(".msg.assistant").all_inner_texts()
        old_lead.screenshot(path=screenshots / "onboarding-6-older-lead-desktop.png")
        return out

    out = in_browser(scenario)
    assert not out["errors"], out["errors"]
    assert out["header"] == "rgb(124, 58, 237)"
    assert out["steps"] == {"branding": "true", "origin": "true", "install": "true", "clientify": "false"}
    assert not any("empleados" in text for text in out["old_texts"])

    from chat.models import Conversation
    from qualification.models import FlowVersion
    from tenancy.models import Agency

    with scopes_disabled():
        agency = Agency.objects.get(name="Estudio Brisa")
        published = FlowVersion.objects.get(id=out["version"], agency=agency)
        conversations = list(Conversation.objects.filter(agency=agency, is_preview=False).order_by("created")
                             .select_related("flow_version", "lead"))
        versions = [c.flow_version.number for c in conversations]
        old_answers = conversations[0].lead.answers
    assert published.status == "published" and published.number == 2
    assert [q["field"] for q in published.definition["questions"]][:2] == ["consent", "employees"]
    # The older conversation stays on version 1, the new visitor's is on version 2.
    assert versions == [1, 2], versions
    assert old_answers["company"] == "Clínica Brisa SL" and "employees" not in old_answers
