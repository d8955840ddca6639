"""The console's knowledge base in real Chromium against the live service: two
files dropped at once are indexed (by the server's task runner, as in
development) and searched; one is replaced, one deleted; refused files say why."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from tests.browser.console_helpers import drop_files, login, shoot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

PRICES = ("# Tarifas de la agencia\n\n## Arranque\n\nGoogle Ads gestionado por 490 euros al mes, con informe "
          "mensual.\n\n## Crecimiento\n\nSEO local y fichas de Google Business por 990 euros al mes.\n")
CASE = ("Caso de éxito: Clínica Dental Sonrisa\n\nEn seis meses la clínica duplicó sus primeras visitas con "
        "campañas de captación de pacientes en Meta y una landing de ortodoncia invisible.\n")
CASE_V2 = ("Caso de éxito: Panadería Sol\n\nLa panadería llenó su obrador de encargos de roscón con "
           "anuncios locales en Instagram y reservas por WhatsApp.\n")


def test_console_uploads_indexes_searches_replaces_and_deletes(web_pool, transactional_db, make_agency,
                                                               in_browser, screenshots):
    server = web_pool(0)
    a = make_agency("Saber")

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, server.base_url, a.admin, a.password)
        page.get_by_role("link", name="Conocimiento").click()
        page.wait_for_url("**/console/knowledge")
        page.get_by_role("heading", name="Base de conocimiento").wait_for()
        page.get_by_text("Todavía no hay documentos").wait_for()
        page.screenshot(path=screenshots / "knowledge-empty-desktop-es.png")

        # Two files at once, by drag and drop: a Markdown and a text file.
        drop_files(page, ".kb-drop", [("tarifas.md", "text/markdown", PRICES),
                                      ("caso-clinica.txt", "text/plain", CASE)])
        rows = page.locator("tr[data-document]")
        page.locator('tr[data-title="Tarifas"] [data-status="ready"]').wait_for(timeout=60000)
        page.locator('tr[data-title="Caso clinica"] [data-status="ready"]').wait_for(timeout=60000)
        assert rows.count() == 2
        page.locator('[data-upload="tarifas.md"]', has_text="listo para las estrategias").wait_for(timeout=15000)
        prices_id = page.locator('tr[data-title="Tarifas"]').get_attribute("data-document")
        case_id = page.locator('tr[data-title="Caso clinica"]').get_attribute("data-document")

        # Refused before sending (the type) and by the API (a .md that is not text): each file says why.
        page.get_by_test_id("kb-file-input").set_input_files([
            {"name": "logo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64},
            {"name": "roto.md", "mimeType": "text/markdown", "buffer": b"\x00\x01\x02binario\x00" * 20},
        ])
        page.locator('[data-upload="logo.png"] [role="alert"]', has_text="Tipo de archivo no admitido").wait_for()
        page.locator('[data-upload="roto.md"] [role="alert"]', has_text="El contenido no es").wait_for(
            timeout=15000)
        assert rows.count() == 2
        shoot(page, screenshots / "knowledge-documents-desktop-es.png")

        # A question retrieves the chunk of the right document, with the match marked.
        search = page.get_by_role("searchbox")
        search.fill("¿cuánto cuesta el SEO local?")
        search.press("Enter")
        first = page.locator(".kb-hit").first
        first.wait_for(timeout=15000)
        assert first.get_attribute("data-document") == prices_id
        assert "Tarifas" in first.locator(".kb-hit-doc").inner_text()
        assert "990 euros" in first.locator(".kb-hit-text").inner_text()
        assert first.locator("mark", has_text="SEO").count() >= 1
        shoot(page, screenshots / "knowledge-search-desktop-es.png")

        # Replace the case study: a new version in its place, indexed again.
        page.get_by_test_id(f"kb-replace-{case_id}").set_input_files(
            {"name": "caso-panaderia.txt", "mimeType": "text/plain", "buffer": CASE_V2.encode()})
        row = page.locator(f'tr[data-document="{case_id}"]')
        row.get_by_text("caso-panaderia.txt").wait_for(timeout=15000)
        row.locator('[data-status="ready"]').wait_for(timeout=60000)
        row.get_by_text("Nueva versión indexada y lista").wait_for(timeout=15000)
        search.fill("roscón panadería Instagram")
        search.press("Enter")
        page.locator(f'.kb-hit[data-document="{case_id}"]', has_text="roscón").wait_for(timeout=15000)
        # The old version's chunks are gone from the index.
        search.fill("ortodoncia invisible")
        search.press("Enter")
        page.locator('.kb-results[data-asked="ortodoncia invisible"]').wait_for(timeout=15000)
        assert "ortodoncia" not in page.locator(".kb-results").inner_text().lower()

        # Delete the prices, confirming (the keyboard lands on the confirmation).
        page.get_by_role("button", name="Borrar: Tarifas").click()
        confirm = page.get_by_role("button", name="Sí, borrar")
        page.wait_for_function("document.activeElement && document.activeElement.textContent === 'Sí, borrar'")
        page.screenshot(path=screenshots / "knowledge-delete-confirm-desktop-es.png")
        confirm.press("Enter")
        page.locator(f'tr[data-document="{prices_id}"]').wait_for(state="detached", timeout=15000)
        assert rows.count() == 1

        # English, desktop and tablet.
        page.get_by_role("button", name="EN", exact=True).click()
        page.get_by_role("heading", name="Knowledge base").wait_for()
        search.fill("roscón")
        page.get_by_role("button", name="Search", exact=True).click()
        page.locator(".kb-hit").first.wait_for(timeout=15000)
        shoot(page, screenshots / "knowledge-desktop-en.png")
        page.set_viewport_size({"width": 820, "height": 1180})
        shoot(page, screenshots / "knowledge-tablet-en.png")
        page.get_by_role("button", name="ES", exact=True).click()
        page.get_by_role("heading", name="Base de conocimiento").wait_for()
        shoot(page, screenshots / "knowledge-tablet-es.png")
        assert not errors, errors
        return prices_id, case_id

    _, case_id = in_browser(scenario)
    from strategy.models import KnowledgeDocument

    with scopes_disabled():
        left = list(KnowledgeDocument.objects.filter(agency=a.agency))
    assert [(str(d.id), d.filename, d.status) for d in left] == [(case_id, "caso-panaderia.txt", "ready")]


def test_a_viewer_sees_the_documents_and_searches_but_cannot_change_them(web_pool, transactional_db, make_agency,
                                                                        in_browser, screenshots):
    server = web_pool(0)
    a = make_agency("Lectura")

    def scenario(browser):
        page = browser.new_page(viewport={"width": 820, "height": 1100})
        login(page, server.base_url, a.admin, a.password)
        page.goto(server.base_url + "/console/knowledge")
        drop_files(page, ".kb-drop", [("servicios.md", "text/markdown", PRICES)])
        page.locator('[data-status="ready"]').wait_for(timeout=60000)
        page.get_by_role("button", name="Salir").click()
        login(page, server.base_url, a.viewer, a.password)
        page.goto(server.base_url + "/console/knowledge")
        page.locator('[data-status="ready"]').wait_for(timeout=15000)
        page.get_by_text("Solo los administradores pueden").wait_for()
        assert page.locator(".kb-drop").count() == 0
        assert page.get_by_role("button", name="Sustituir").count() == 0
        assert page.get_by_role("button", name="Borrar").count() == 0
        page.get_by_role("searchbox").fill("Google Ads")
        page.get_by_role("searchbox").press("Enter")
        page.locator(".kb-hit").first.wait_for(timeout=15000)
        shoot(page, screenshots / "knowledge-viewer-tablet-es.png")

    in_browser(scenario)
