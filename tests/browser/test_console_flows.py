"""The flow editor in real Chromium against the live service: an admin
drafts a new question, sees the API's error next to the field, reorders by
keyboard, saves, tries the draft in the embedded widget chat, publishes and
reads the diff; then a new widget conversation on a customer's page is asked
the new question while one that started before keeps the old flow."""

from __future__ import annotations

import re

import pytest
from django_scopes import scopes_disabled

from tests.browser import console_flows as flows
from tests.browser.console_helpers import login
from tests.browser.test_console import LeadDriver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

QUESTION = "¿Cuántos empleados tiene tu empresa?"
DESKTOP = {"width": 1440, "height": 900}
TABLET = {"width": 820, "height": 1180}


def _site_page(site, server, key) -> None:
    site.html = (f'<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" '
                 f'content="width=device-width, initial-scale=1"><title>Panadería Sol</title></head>'
                 f'<body><h1>Panadería Sol</h1><script src="{server.base_url}/widget/v1/markezy.js" '
                 f'data-key="{key}" async></script></body></html>')


def _shots(page, screenshots, name: str) -> None:
    """Desktop and tablet screenshots of the page as it stands."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshots / f"flows-{name}-desktop.png")
    page.set_viewport_size(TABLET)
    page.screenshot(path=screenshots / f"flows-{name}-tablet.png")
    page.set_viewport_size(DESKTOP)


def test_draft_preview_publish_and_versions_of_running_conversations(web_pool, transactional_db, make_agency, site,
                                                                      in_browser, screenshots):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="60", CHAT_RATE_BURST="100")
    a = make_agency("Flujos", origins=(site.origin, "https://cliente.example"))
    _site_page(site, server, a.key.key)

    def scenario(browser):
        page = browser.new_page(viewport=DESKTOP)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "400" not in m.text else None)

        # A lead who started before the new version: consented, now asked their name.
        old = LeadDriver(server, a.key.key)
        try:
            old.run(old.socket.until_type("qualification", step="consent"))
            old.run(old.socket.assistant_reply())
            old.run(old.socket.say("Sí, acepto"))
            old.run(old.socket.until_type("qualification", step="name"))
            old.run(old.socket.assistant_reply())

            login(page, server.base_url, a.admin, a.password)
            flows.open_flows(page, server.base_url)
            live_row = page.locator(".flows-table tr.current")
            assert "En uso" in live_row.inner_text() and "Versión 1" in live_row.inner_text()
            _shots(page, screenshots, "list")

            draft_id = flows.new_draft(page)
            page.get_by_role("heading", name=re.compile("Versión 2")).wait_for()
            assert "Borrador" in page.locator("h1").inner_text()
            flows.toggle(page, "sector")
            _shots(page, screenshots, "editor")
            flows.toggle(page, "sector")

            # The new question, with an answer name the schema refuses.
            new = flows.add_question(page, prompt_es=QUESTION, prompt_en="How many employees does your company have?",
                                     field="Empleados", type_label="Número", minimum=1)
            card = flows.card(page, "Empleados")
            assert card.get_attribute("data-position") == "14"
            # Reordered by keyboard: Alt+↑ on its handle, announced as it moves.
            flows.move_by_keyboard(page, "Empleados", 2)
            assert page.locator("[aria-live=polite]", has_text="está ahora en la posición 2 de 14").count() == 1
            assert page.evaluate("document.activeElement?.classList.contains('flow-q-handle')")
            order = page.locator("li.flow-q").evaluate_all("els => els.map(e => e.dataset.field)")
            assert order[:3] == ["consent", "Empleados", "name"]
            # And by dragging a handle: the phone question dropped onto the email one takes its place.
            flows.card(page, "phone").locator(".flow-q-handle").drag_to(flows.card(page, "email"))
            order = page.locator("li.flow-q").evaluate_all("els => els.map(e => e.dataset.field)")
            assert order[-2:] == ["phone", "email"], order
            flows.move_by_keyboard(page, "phone", 14)

            page.get_by_role("button", name="Guardar borrador").click()
            field_input = card.get_by_label("Nombre del dato")
            error = card.locator(".field-error", has_text="Usa minúsculas")
            error.wait_for()
            assert field_input.get_attribute("aria-invalid") == "true"
            assert error.get_attribute("id") in field_input.get_attribute("aria-describedby")
            page.get_by_role("alert").filter(has_text="No se ha guardado").wait_for()
            error.scroll_into_view_if_needed()
            _shots(page, screenshots, "error")

            field_input.fill("employees")
            assert new.count() == 0  # the card follows its new answer name
            # Two more changes for the diff: the phone becomes required, the audience question goes.
            flows.toggle(page, "phone")
            flows.card(page, "phone").get_by_label("Obligatoria").check()
            flows.card(page, "audience").get_by_role("button", name=re.compile("^Quitar")).click()
            page.get_by_role("button", name="Deshacer").wait_for()
            page.wait_for_function("document.activeElement?.id === 'flows-undo'")
            # A jump on the new answer: fewer than 5 employees end the flow at once.
            employees = flows.card(page, "employees")
            employees.get_by_role("button", name="Añadir un salto").click()
            jump = employees.locator(".rule").last
            jump.get_by_label("Condición", exact=True).select_option(label="menor que")
            jump.get_by_label("Valor", exact=True).fill("5")
            jump.get_by_label("ir a").select_option(label="Terminar (lead cualificado)")
            # The existing skip rule of the default flow reads as words.
            flows.toggle(page, "platform")
            skip = flows.card(page, "platform").locator(".rule").first
            assert skip.get_by_label("Pregunta", exact=True).evaluate("s => s.selectedOptions[0].text") == "¿A qué sector se dedica?"
            assert skip.get_by_label("Condición", exact=True).evaluate("s => s.selectedOptions[0].text") == "no es"
            assert skip.get_by_label("Valor", exact=True).evaluate("s => s.selectedOptions[0].text") == "Tienda online"
            flows.save_draft(page)

            # The embedded chat asks the draft's question right after consent.
            frame = flows.start_preview(page)
            frame.locator(".chips button", has_text="Acepto").click()
            frame.locator(".msg.assistant:not(.caret)", has_text="empleados").wait_for(timeout=20000)
            box = frame.get_by_role("textbox")
            box.fill("0")
            box.press("Enter")
            frame.locator(".msg.assistant:not(.caret)", has_text="al menos 1").wait_for(timeout=20000)
            box.fill("Somos 12")
            box.press("Enter")
            frame.locator(".msg.assistant:not(.caret)", has_text="llamas").wait_for(timeout=20000)
            _shots(page, screenshots, "preview")

            flows.publish(page, number=2)
            page.get_by_role("link", name="Ver los cambios").first.click()
            page.get_by_role("heading", name="De la versión 1 a la 2").wait_for()
            added = page.locator(".diff-added")
            assert QUESTION in added.inner_text() and "en la posición 2" in added.inner_text()
            assert "audience" in page.locator(".diff-removed").inner_text()
            changed = page.locator(".diff-changed")
            assert "phone" in changed.inner_text() and "no (opcional)" in changed.inner_text()
            assert page.get_by_text("Ha cambiado el orden").count() == 0
            page.get_by_text("Han cambiado las reglas de salto.").wait_for()
            assert page.locator(".diff-rules .diff-after").inner_text().endswith(
                f"Tras «{QUESTION}», si employees menor que 5: Terminar (lead cualificado)")
            _shots(page, screenshots, "diff")

            # The list marks version 2 as the live one; in English too.
            page.get_by_role("link", name="Versiones").click()
            live_row = page.locator(".flows-table tr.current")
            live_row.wait_for()
            assert "Versión 2" in live_row.inner_text()
            page.get_by_role("button", name="EN", exact=True).click()
            page.get_by_role("heading", name="Qualification flow").wait_for()
            assert "Live" in page.locator(".flows-table tr.current").inner_text()
            page.screenshot(path=screenshots / "flows-list-en-desktop.png")
            page.get_by_role("button", name="ES", exact=True).click()

            # A new visitor on the customer's site gets the new question…
            visitor = browser.new_page(viewport={"width": 1280, "height": 800})
            visitor.goto(site.origin + "/")
            visitor.get_by_role("button", name="Abrir el chat").click()
            visitor.locator(".chips button", has_text="Acepto").click()
            visitor.locator(".msg.assistant:not(.caret)", has_text="empleados").wait_for(timeout=20000)
            visitor.screenshot(path=screenshots / "flows-new-visitor-desktop.png")
            # …while the older conversation's next question is still the old flow's.
            old.run(old.socket.say("Me llamo Ana García"))
            kept = old.run(old.socket.until_type("qualification"))
            reply = old.run(old.socket.assistant_reply())
            return {"errors": errors, "kept": kept, "reply": reply["text"], "draft": draft_id}
        finally:
            old.close()

    result = in_browser(scenario)
    assert result["kept"]["step"] == "company" and "employees" not in result["kept"]["answers"]
    assert "empleados" not in result["reply"].lower()
    assert not result["errors"], result["errors"]
    from chat.models import Conversation
    from qualification.models import FlowVersion

    with scopes_disabled():
        published = FlowVersion.objects.get(id=result["draft"])
    assert published.status == "published" and published.published_by_id == a.admin.id
    fields = [q["field"] for q in published.definition["questions"]]
    assert fields[:3] == ["consent", "employees", "name"] and "audience" not in fields
    assert published.definition["questions"][1]["validation"] == {"min": 1}
    assert published.definition["branches"] == [
        {"after": "employees", "when": {"field": "employees", "op": "lt", "value": 5}, "goto": "done"}]

    with scopes_disabled():
        versions = sorted((c.is_preview, c.flow_version.number) for c in Conversation.objects.filter(agency=a.agency))
    # The older lead on 1, the new visitor on 2, and the editor's preview (on the draft that became 2).
    assert versions == [(False, 1), (False, 2), (True, 2)], versions


def test_unsaved_draft_asks_before_back_forward_and_links(web_pool, transactional_db, make_agency, in_browser):
    """Edits not yet saved are not dropped silently: the browser's back
    button and the section bar ask first; "stay" keeps the editor and the
    edit, "leave" goes."""
    server = web_pool(0)
    a = make_agency("Borradores")

    def scenario(browser):
        page = browser.new_page(viewport=DESKTOP)
        asked: list[str] = []
        answer = {"leave": False}

        def on_dialog(dialog):
            asked.append(dialog.message)
            dialog.accept() if answer["leave"] else dialog.dismiss()

        page.on("dialog", on_dialog)
        login(page, server.base_url, a.admin, a.password)
        flows.open_flows(page, server.base_url)
        flows.new_draft(page)
        editor = page.url
        flows.toggle(page, "phone")
        required = flows.card(page, "phone").get_by_label("Obligatoria")
        required.check()

        page.go_back()
        page.wait_for_timeout(300)
        after_back = page.url, required.is_checked()
        page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Conversaciones").click()
        page.wait_for_timeout(300)
        after_link = page.url, required.is_checked()

        answer["leave"] = True
        page.go_back()
        page.get_by_role("heading", name="Flujo de cualificación").wait_for()
        return editor, asked, after_back, after_link, page.url

    editor, asked, after_back, after_link, left_to = in_browser(scenario)
    assert len(asked) == 3 and all("sin guardar" in q for q in asked), asked
    assert after_back == (editor, True) and after_link == (editor, True)
    assert left_to != editor and left_to.rstrip("/").endswith("/console/flows")
