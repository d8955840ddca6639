"""The widget in real Chromium, on a customer's page, against the live service."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

HOSTILE_CSS = """<style>* { all: unset !important; } body { display:block !important; }
#overlay { position: fixed; inset: 0; z-index: 2147483646; background: rgba(255,0,0,.05); pointer-events: none; }</style>"""


def _page(site, server, key, extra_head="", body="<h1>Panadería Sol</h1><p>Bienvenido a nuestra web.</p>"):
    site.html = (f'<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" '
                 f'content="width=device-width, initial-scale=1"><title>Panadería Sol</title>{extra_head}</head>'
                 f'<body>{body}<script src="{server.base_url}/widget/v1/markezy.js" data-key="{key}" async></script>'
                 f"</body></html>")


def test_qualification_through_the_widget(web_pool, transactional_db, make_agency, site, in_browser, screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="40", CHAT_RATE_BURST="100")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.origin + "/")
        page.get_by_role("button", name="Abrir el chat").click()
        page.locator(".chips button", has_text="Acepto").wait_for()
        page.locator(".msg.assistant:not(.caret)").first.wait_for()
        page.screenshot(path=screenshots / "widget-consent-desktop.png")
        page.locator(".chips button", has_text="Acepto").click()
        page.locator(".msg.assistant", has_text="llamas").wait_for()
        box = page.get_by_role("textbox")
        box.fill("Me llamo Ana García")
        box.press("Enter")
        page.locator(".msg.lead", has_text="Ana García").wait_for()
        page.locator(".msg.assistant", has_text="empresa").wait_for()
        box.fill("Panadería Sol")
        box.press("Enter")
        page.locator(".chips button", has_text="Tienda online").wait_for()
        page.locator(".msg.assistant:not(.caret)", has_text="sector").wait_for()
        page.screenshot(path=screenshots / "widget-quick-replies-desktop.png")
        page.locator(".chips button", has_text="Tienda online").click()
        page.locator(".msg.assistant", has_text="plataforma").wait_for()
        progress = int(page.locator("[role=progressbar]").get_attribute("aria-valuenow"))
        texts = page.locator(".msg.assistant").all_inner_texts()
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(site.origin + "/")
        phone.get_by_role("button", name="Abrir el chat").click()
        phone.locator(".msg.assistant").first.wait_for()
        phone.wait_for_timeout(300)
        phone.screenshot(path=screenshots / "widget-phone.png")
        return {"errors": errors, "progress": progress, "texts": texts, "panel": phone.locator(".panel").bounding_box()}

    result = in_browser(scenario)
    assert not result["errors"]
    assert result["progress"] > 20
    assert len(result["texts"]) == len(set(result["texts"]))  # no duplicated assistant text
    assert result["panel"]["width"] >= 380 and result["panel"]["height"] >= 800  # full screen under 640 px
    with scopes_disabled():
        from qualification.models import Lead

        lead = Lead.objects.filter(agency=a.agency).order_by("created").first()
        assert lead.name == "Ana García" and lead.answers["sector"] == "ecommerce"


# A local business answering the default flow through the widget.
MARTA = ["Me llamo Marta", "Moda Marta", "Servicios locales", "no tengo", "captar clientes", "vecinos",
         "redes sociales", "2.000 €", "ya", "marta@moda.es", "prefiero no"]


def _answer_all(page, answers: list[str]) -> None:
    """Accept the consent chip, then type each answer once its question is shown."""
    page.locator(".chips button", has_text="Acepto").click()
    for i, text in enumerate(answers):
        page.locator(".msg.assistant:not(.caret)").nth(i + 1).wait_for()
        box = page.get_by_role("textbox")
        box.fill(text)
        box.press("Enter")


def _slow_site(web_pool, make_agency, site):
    """A customer page whose assistant streams slowly enough to act mid-reply."""
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="8")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)
    return a


def _open_mid_stream(browser, site):
    page = browser.new_page()
    page.goto(site.origin + "/")
    page.get_by_role("button", name="Abrir el chat").click()
    page.locator(".msg.assistant.caret").wait_for()
    return page


def test_reload_mid_stream_resumes_without_duplicates(web_pool, transactional_db, make_agency, site, in_browser):
    _slow_site(web_pool, make_agency, site)

    def scenario(browser):
        page = _open_mid_stream(browser, site)
        page.wait_for_timeout(1200)
        page.reload()
        page.get_by_role("button", name="Abrir el chat").click()
        page.locator(".msg.assistant:not(.caret)").first.wait_for(timeout=20000)
        return page.locator(".msg.assistant").all_inner_texts()

    texts = in_browser(scenario)
    assert len(texts) == 1
    assert texts[0].startswith("¡Hola!") and texts[0].count("¡Hola!") == 1 and "privacidad" in texts[0]


def test_reload_shows_the_conversation_so_far(web_pool, transactional_db, make_agency, site, in_browser, screenshots):
    """A page starts empty: after a reload the widget shows the whole
    conversation again, the current question's quick replies and the progress."""
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400", CHAT_RATE_BURST="100")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(site.origin + "/")
        page.get_by_role("button", name="Abrir el chat").click()
        _answer_all(page, ["Me llamo Ana García", "Panadería Sol"])
        page.locator(".chips button", has_text="Tienda online").wait_for()
        page.locator(".msg.assistant:not(.caret)", has_text="sector").wait_for()
        before = page.locator(".msg").all_inner_texts()
        progress = page.locator("[role=progressbar]").get_attribute("aria-valuenow")
        page.reload()
        page.get_by_role("button", name="Abrir el chat").click()
        page.locator(".chips button", has_text="Tienda online").wait_for()
        page.locator(".msg.assistant:not(.caret)", has_text="sector").wait_for()
        page.screenshot(path=screenshots / "widget-after-reload.png")
        after = page.locator(".msg").all_inner_texts()
        page.locator(".chips button", has_text="Tienda online").click()
        page.locator(".msg.assistant", has_text="plataforma").wait_for()
        return before, after, progress, page.locator("[role=progressbar]").get_attribute("aria-valuenow")

    before, after, progress, progress_after = in_browser(scenario)
    assert after == before and len(after) >= 5  # greeting, consent, name, company, sector question
    assert "Me llamo Ana García" in after and "Panadería Sol" in after
    assert int(progress) > 0 and int(progress_after) > int(progress)


def test_stop_mid_stream_keeps_partial_text(web_pool, transactional_db, make_agency, site, in_browser):
    _slow_site(web_pool, make_agency, site)

    def scenario(browser):
        page = _open_mid_stream(browser, site)
        page.wait_for_timeout(600)
        page.get_by_role("button", name="Detener").click(timeout=10000)
        page.locator(".msg.assistant:not(.caret)").wait_for()
        return page.locator(".msg.assistant").first.inner_text(), page.get_by_role("button", name="Detener").is_hidden()

    text, stop_hidden = in_browser(scenario)
    assert text and "¿Te parece bien?" not in text
    assert stop_hidden


def test_hostile_page_css_and_html_in_replies(web_pool, transactional_db, make_agency, site, in_browser, screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400")
    a = make_agency(origins=(site.origin,))
    with scopes_disabled():
        a.agency.branding = {**a.agency.branding, "greeting": "<img src=x onerror=alert(1)>"}
        a.agency.name = "Agencia <b>Negrita</b>"
        a.agency.save()
    _page(site, server, a.key.key, extra_head=HOSTILE_CSS, body='<div id="overlay"></div><h1>Hostile</h1>')

    def scenario(browser):
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(site.origin + "/")
        page.get_by_role("button", name="Abrir el chat").click()
        page.locator(".msg.assistant").first.wait_for()
        box = page.get_by_role("textbox")
        box.fill("<img src=x onerror=alert(1)>")
        box.press("Enter")
        page.locator(".msg.lead").first.wait_for()
        page.mouse.move(5, 5)  # no hover scale on the launcher
        page.wait_for_timeout(500)
        page.screenshot(path=screenshots / "widget-hostile-page.png")
        return {
            "lead": page.locator(".msg.lead").first.inner_text(),
            "title": page.locator("header h2").inner_text(),
            "imgs": page.locator("img").count(),
            "dialogs": dialogs,
            "launcher": page.locator(".launcher").bounding_box(),
            "globals": page.evaluate("Object.keys(window).filter(k => k.toLowerCase().includes('markezy'))"),
        }

    r = in_browser(scenario)
    assert r["lead"] == "<img src=x onerror=alert(1)>"
    assert r["title"] == "Agencia <b>Negrita</b>"
    assert r["imgs"] == 0 and not r["dialogs"]
    assert r["launcher"]["width"] == 60 and r["launcher"]["height"] == 60  # the page's `all: unset` did not reach it
    assert r["globals"] == ["Markezy"]


def test_offline_queue_keeps_the_client_id(web_pool, transactional_db, make_agency, site, in_browser):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="400", CHAT_RATE_BURST="100")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)

    def scenario(browser):
        context = browser.new_context()
        page = context.new_page()
        page.goto(site.origin + "/")
        page.get_by_role("button", name="Abrir el chat").click()
        page.locator(".msg.assistant:not(.caret)").first.wait_for()
        context.set_offline(True)
        page.wait_for_timeout(500)
        box = page.get_by_role("textbox")
        box.fill("Sí, acepto")
        box.press("Enter")
        pending = page.locator(".msg.lead.pending").count()
        context.set_offline(False)
        page.locator(".msg.assistant", has_text="llamas").wait_for(timeout=40000)
        page.locator(".msg.lead.pending").wait_for(state="detached", timeout=10000)
        return pending, page.locator(".msg.lead").count()

    pending, leads = in_browser(scenario)
    assert pending == 1 and leads == 1
    with scopes_disabled():
        from chat.models import Turn

        assert Turn.objects.filter(agency=a.agency, role="lead").count() == 1


def test_summary_cambiar_sends_edit_and_js_api_events(web_pool, transactional_db, make_agency, site, in_browser,
                                                     screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0", CHAT_RATE_BURST="100", CHAT_RATE_MESSAGES="1000")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)
    answers = MARTA

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(site.origin + "/")
        page.evaluate("window.__events = []; Markezy.on('qualified', e => window.__events.push(['qualified', e]))")
        page.locator(".launcher").wait_for()  # rendered once the session is open
        page.evaluate("Markezy.open()")
        _answer_all(page, answers)
        page.locator(".card h3", has_text="Tus respuestas").wait_for()
        page.screenshot(path=screenshots / "widget-summary.png")
        events = page.evaluate("window.__events")
        page.get_by_role("button", name="cambiar: Sector").click()
        page.locator(".msg.assistant:not(.caret)", has_text="sector").last.wait_for()
        page.locator(".chips button", has_text="Hostelería").click()
        page.wait_for_timeout(800)
        page.evaluate("Markezy.close()")
        return events, page.locator(".panel").is_hidden()

    events, closed = in_browser(scenario)
    assert events and events[0][0] == "qualified" and events[0][1]["answers"]["sector"] == "servicios_locales"
    assert closed
    with scopes_disabled():
        from qualification.models import Lead, LeadEvent

        lead = Lead.objects.get(agency=a.agency)
        assert lead.answers["sector"] == "hosteleria"
        assert LeadEvent.objects.filter(lead=lead, type="edit.requested").exists()


def test_llm_reply_with_html_shows_as_text_and_keyboard_use(web_pool, transactional_db, make_agency, site, in_browser):
    from tests.doubles.openai_server import OpenAIDouble

    with OpenAIDouble(tokens_per_second=200) as double:
        double.script(text='Hola <img src=x onerror=alert(1)> <script>alert(2)</script> ¿seguimos?')
        server = web_pool(0, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=double.base_url)
        a = make_agency(origins=(site.origin,))
        _page(site, server, a.key.key)

        def scenario(browser):
            page = browser.new_page()
            dialogs = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(site.origin + "/")
            page.locator(".launcher").wait_for()
            # Keyboard only: Tab to the launcher, Enter opens with focus in the text box, Esc closes.
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement && document.activeElement.tagName") == "DIV":
                    break
            page.keyboard.press("Enter")
            page.locator(".panel").wait_for(state="visible")
            focused = page.evaluate("document.activeElement.shadowRoot.activeElement.tagName")
            page.locator(".msg.assistant:not(.caret)").first.wait_for()
            reply = page.locator(".msg.assistant").first.inner_text()
            page.keyboard.press("Escape")
            hidden = page.locator(".panel").is_hidden()
            back = page.evaluate("document.activeElement.shadowRoot.activeElement.className")
            return dialogs, reply, focused, hidden, back, page.locator("img").count()

        dialogs, reply, focused, hidden, back, images = in_browser(scenario)
    assert reply == "Hola <img src=x onerror=alert(1)> <script>alert(2)</script> ¿seguimos?"
    assert not dialogs and images == 0
    assert focused == "TEXTAREA" and hidden and back == "launcher"


def test_strategy_card_links_the_pdf_once_it_is_ready(web_pool, transactional_db, make_agency, site, in_browser,
                                                      screenshots):
    """The whole flow in the widget, then the strategy written in the
    background: one card that turns from "preparing" into the PDF link, the
    `strategy` event of the JS API, and a link that really serves the PDF."""
    import httpx

    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0", CHAT_RATE_BURST="100", CHAT_RATE_MESSAGES="1000")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)
    answers = MARTA

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(site.origin + "/")
        page.evaluate("window.__events = []; Markezy.on('strategy', e => window.__events.push(e))")
        page.locator(".launcher").wait_for()
        page.evaluate("Markezy.open()")
        _answer_all(page, answers)
        link = page.locator(".card a.pdf")
        link.wait_for(timeout=60_000)
        page.wait_for_timeout(300)
        page.screenshot(path=screenshots / "widget-strategy-ready.png")
        cards = page.locator(".card h3").all_inner_texts()
        result = link.get_attribute("href"), link.inner_text(), cards, page.evaluate("window.__events")
        # A reload shows it all again, but the host page's listeners hear nothing twice.
        page.reload()
        page.evaluate("window.__events = []; Markezy.on('strategy', e => window.__events.push(e)); "
                      "Markezy.on('qualified', e => window.__events.push(e))")
        page.locator(".launcher").wait_for()
        page.evaluate("Markezy.open()")
        page.locator(".card a.pdf").wait_for()
        page.wait_for_timeout(300)
        again = page.locator(".card h3").all_inner_texts(), page.locator(".msg.lead").count(), page.evaluate("window.__events")
        return result, again

    (href, label, cards, events), (cards_again, leads_again, events_again) = in_browser(scenario)
    assert label == "Descargar PDF"
    assert cards.count("Tu estrategia está lista") == 1
    assert not any("prepar" in c.lower() for c in cards)  # the "preparing" card became the link
    assert events == [{"status": "ready", "pdf_url": href}]
    assert cards_again == cards and leads_again == len(answers)
    assert events_again == []
    response = httpx.get(href, timeout=20)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert href.startswith(server.base_url + "/api/v1/strategies/")


def test_works_under_a_strict_host_csp(web_pool, transactional_db, make_agency, site, in_browser, screenshots):
    """A host page whose CSP allows only its own origin plus the widget's
    server: no inline script or style anywhere, so nothing is refused."""
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0", CHAT_RATE_BURST="100")
    a = make_agency(origins=(site.origin,))
    _page(site, server, a.key.key)
    ws = server.ws_url
    site.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {server.base_url}; connect-src {server.base_url} {ws}; "
        f"img-src 'self' {server.base_url} data:; style-src 'self'; base-uri 'none'; form-action 'none'")

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        refused = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(site.origin + "/")
        page.evaluate("window.__violations = []; document.addEventListener('securitypolicyviolation', "
                      "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))")
        launcher = page.get_by_role("button", name="Abrir el chat")
        launcher.wait_for()
        colour = launcher.evaluate("b => getComputedStyle(b).backgroundColor")
        launcher.click()
        page.locator(".chips button", has_text="Acepto").click()
        page.locator(".msg.assistant", has_text="llamas").wait_for()
        page.screenshot(path=screenshots / "widget-strict-csp.png")
        panel = page.locator(".panel").bounding_box()
        return colour, refused, page.evaluate("window.__violations"), panel

    colour, refused, violations, panel = in_browser(scenario)
    assert refused == [] and violations == []
    assert colour == "rgb(79, 70, 229)"  # the agency colour: the stylesheet applied
    assert panel["width"] >= 300 and panel["height"] >= 400


def test_agency_logo_uploaded_through_the_api_shows_in_the_header(web_pool, transactional_db, make_agency, site,
                                                                  in_browser, login):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="0")
    a = make_agency(origins=(site.origin,))
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 120, 0)).save(buffer, format="PNG")
    admin, _ = login(a.admin)
    response = admin.patch("/api/v1/agency/", {"logo": SimpleUploadedFile("logo.png", buffer.getvalue(), "image/png")},
                           format="multipart")
    assert response.status_code == 200, response.content
    _page(site, server, a.key.key)

    def scenario(browser):
        page = browser.new_page()
        page.goto(site.origin + "/")
        page.get_by_role("button", name="Abrir el chat").click()
        logo = page.locator("header img.logo")
        logo.wait_for()
        for _ in range(50):
            if logo.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            page.wait_for_timeout(100)
        return logo.evaluate("img => [img.naturalWidth, img.getAttribute('alt'), img.src]")

    width, alt, src = in_browser(scenario)
    assert width == 64 and alt == "" and src.startswith(server.base_url)
