"""The console's integrations in real Chromium against the live service, the
Clientify emulator and a webhook receiver on loopback: connect and test a
token, resync a failed lead, create a webhook, see its secret once, rotate it,
and retry a delivery from its log."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_scopes import scopes_disabled

from tests.browser.console_helpers import login, shoot
from tests.doubles.clientify_server import ClientifyEmulator
from tests.integration.crm.helpers import qualified_lead_row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

TOKEN = "tok-consola-clientify"


class Receiver:
    """A customer's webhook receiver: answers `status`, records every delivery."""

    def __init__(self, status: int):
        self.status = status
        self.received: list[tuple[dict, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/markezy"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clientify():
    with ClientifyEmulator(tokens=[TOKEN], seed=3) as emulator:
        yield emulator


@pytest.fixture
def receiver():
    r = Receiver(status=500)
    yield r
    r.stop()


def test_console_connects_clientify_resyncs_and_manages_webhooks(web_pool, transactional_db, make_agency, in_browser,
                                                                 screenshots, clientify, receiver):
    server = web_pool(0, CLIENTIFY_BASE_URL=clientify.base_url)
    a = make_agency("Integra")
    lead = qualified_lead_row(a.agency, n=1)
    # Clientify refuses the first contact: connecting queues the lead, which fails for good (a dead letter).
    clientify.inject("error", status=400, path=r"^/contacts/$", method="POST", times=1)

    def scenario(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, server.base_url, a.admin, a.password)
        page.get_by_role("link", name="Integraciones").click()
        page.get_by_role("heading", name="Conexión con Clientify").wait_for()
        assert page.locator('[data-state="none"]').is_visible()

        # Webhooks first, so the sync failure below is announced to the receiver.
        page.get_by_role("link", name="Webhooks", exact=True).click()
        page.wait_for_url("**/console/integrations/webhooks")
        page.get_by_text("Todavía no hay webhooks.").wait_for()
        url_field = page.get_by_label("URL de destino")
        url_field.fill("ftp://no-vale")
        page.get_by_role("button", name="Crear webhook").click()
        url_error = page.locator(".intg-new .field-error")
        url_error.wait_for()
        assert "URL" in url_error.inner_text()
        page.wait_for_function("document.activeElement && document.activeElement.getAttribute('aria-invalid') === 'true'")
        url_field.fill(receiver.url)
        page.get_by_label("Descripción (opcional)").fill("CRM interno")
        page.get_by_label("Fallo al enviar a Clientify").check()
        page.get_by_label("Lead cualificado").check()
        page.get_by_role("button", name="Crear webhook").click()
        secret_box = page.get_by_test_id("webhook-secret")
        secret_box.wait_for()
        first_secret = secret_box.inner_text()
        assert first_secret.startswith("whsec_")
        page.get_by_text("no se volverá a mostrar").wait_for()
        shoot(page, screenshots / "integrations-webhook-secret-desktop-es.png")
        page.get_by_role("button", name="Ya lo he guardado").click()
        assert page.get_by_test_id("webhook-secret").count() == 0
        assert first_secret not in page.content()  # shown once, then gone from the page
        row = page.locator("li[data-endpoint]")
        assert row.count() == 1 and "Lead cualificado" in row.inner_text()

        # Rotate: confirm, a new secret shown once.
        row.get_by_role("button", name="Rotar secreto").click()
        page.get_by_role("button", name="Sí, rotar").click()
        secret_box.wait_for()
        second_secret = secret_box.inner_text()
        assert second_secret.startswith("whsec_") and second_secret != first_secret
        page.get_by_text("sigue firmando durante 24 h").wait_for()
        page.get_by_role("button", name="Ya lo he guardado").click()

        # Disable and enable again, from the keyboard.
        switch = row.get_by_role("switch")
        switch.focus()
        page.keyboard.press("Space")
        row.locator(".intg-switch:not(.on)").wait_for()
        assert switch.get_attribute("aria-checked") == "false" and "Desactivado" in row.inner_text()
        page.keyboard.press("Space")
        row.locator(".intg-switch.on").wait_for()

        # Clientify: a bad token is refused by the test, the emulator's token works.
        page.get_by_role("link", name="Clientify", exact=True).click()
        token = page.get_by_label("Token de la API de Clientify")
        token.fill("token-que-no-existe")
        page.get_by_role("button", name="Probar conexión").click()
        page.locator('[data-test-result="token_rejected"]').wait_for()
        assert "Clientify ha rechazado el token" in page.locator(".intg-test").inner_text()
        # Saving it is refused too, with the error next to the field.
        page.get_by_role("button", name="Guardar", exact=True).click()
        page.locator(".intg-connection .field-error").wait_for()
        assert token.get_attribute("aria-invalid") == "true"
        shoot(page, screenshots / "integrations-clientify-bad-token-desktop-es.png")
        token.fill(TOKEN)
        page.get_by_role("button", name="Probar conexión").click()
        page.locator('[data-test-result="ok"]').wait_for()
        page.get_by_role("button", name="Guardar", exact=True).click()
        page.locator('[data-state="connected"]').wait_for()
        assert token.input_value() == ""  # never echoed back
        assert TOKEN not in page.content()
        page.get_by_text("termina en tify").wait_for()

        # The queued lead fails (Clientify said 400): it shows up among the failed leads.
        dead = page.locator(f'.intg-dead li[data-lead="{lead.id}"]')
        for _ in range(20):
            if dead.count():
                break
            page.get_by_role("button", name="Actualizar").click()
            page.wait_for_timeout(500)
        dead.wait_for(timeout=5000)
        assert "Lead Número1 Pérez" in dead.inner_text()
        shoot(page, screenshots / "integrations-clientify-desktop-es.png")
        dead.get_by_role("button", name="Reenviar Lead Número1 Pérez a Clientify").click()
        dead.wait_for(state="detached", timeout=20000)
        page.get_by_text("Ningún lead con error").wait_for()
        page.locator('[data-count="synced"] strong', has_text="1").wait_for(timeout=15000)

        # The field mapping: stop sending the phone, tag every contact.
        mapping = page.locator(".intg-mapping")
        mapping.get_by_label("Enviar: Teléfono").uncheck()
        assert mapping.get_by_label("Nombre en Clientify: Teléfono").is_disabled()
        mapping.get_by_label("Nombre en Clientify: Empresa").fill("empresa_cliente")
        mapping.get_by_label("Etiquetas extra").fill("Web, Markezy")
        mapping.get_by_role("button", name="Guardar correspondencia").click()
        mapping.get_by_text("Guardado.").wait_for()

        # The failure was announced: the delivery is in the endpoint's log (the receiver said 500).
        page.get_by_role("link", name="Webhooks", exact=True).click()
        page.get_by_role("link", name="Entregas").click()
        page.get_by_role("heading", name="Registro de entregas").wait_for()
        delivery = page.locator("tr[data-delivery]").first
        delivery.wait_for(timeout=15000)
        page.locator('tr[data-delivery] [data-code="500"]').wait_for(timeout=15000)
        assert "crm.sync_failed" in delivery.inner_text()
        shoot(page, screenshots / "integrations-deliveries-desktop-es.png")
        receiver.status = 204
        delivery.get_by_role("button", name="Reintentar").click()
        page.locator('tr[data-delivery][data-status="delivered"] [data-code="204"]').wait_for(timeout=20000)
        shoot(page, screenshots / "integrations-deliveries-retried-desktop-es.png")

        # English, desktop and tablet width.
        page.get_by_role("button", name="EN", exact=True).click()
        page.get_by_role("heading", name="Delivery log").wait_for()
        shoot(page, screenshots / "integrations-deliveries-desktop-en.png")
        page.get_by_role("link", name="Clientify", exact=True).click()
        page.get_by_role("heading", name="Clientify connection").wait_for()
        shoot(page, screenshots / "integrations-clientify-desktop-en.png")
        page.set_viewport_size({"width": 820, "height": 1180})
        shoot(page, screenshots / "integrations-clientify-tablet-en.png")
        page.get_by_role("link", name="Webhooks", exact=True).click()
        page.get_by_role("heading", name="New webhook").wait_for()
        page.locator("li[data-endpoint]").wait_for()
        shoot(page, screenshots / "integrations-webhooks-tablet-en.png")
        page.get_by_role("button", name="ES", exact=True).click()
        page.get_by_role("heading", name="Nuevo webhook").wait_for()
        page.locator("li[data-endpoint]").wait_for()
        shoot(page, screenshots / "integrations-webhooks-tablet-es.png")
        page.get_by_role("link", name="Clientify", exact=True).click()
        page.get_by_role("heading", name="Conexión con Clientify").wait_for()
        shoot(page, screenshots / "integrations-clientify-tablet-es.png")
        assert not errors, errors
        context.close()
        return first_secret, second_secret

    first_secret, second_secret = in_browser(scenario)
    # One contact in Clientify for the lead, and the failure announced, signed, and delivered on retry.
    assert len(clientify.contacts(token=TOKEN)) == 1
    failures = [body for headers, body in receiver.received if body["type"] == "crm.sync_failed"]
    assert len(failures) >= 2 and failures[0]["data"]["lead"] == str(lead.id)
    assert all("v1=" in headers["markezy-signature"] for headers, _ in receiver.received)
    from integrations.models import WebhookEndpoint

    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.get(agency=a.agency)
    assert endpoint.secret == second_secret and endpoint.previous_secret == first_secret
    from integrations.models import ClientifyConnection

    with scopes_disabled():
        connection = ClientifyConnection.objects.get(agency=a.agency)
    assert connection.enabled and connection.api_token == TOKEN
    assert connection.field_mapping == {"fields": {"phone": None, "company": "empresa_cliente"},
                                        "extra_tags": ["Web", "Markezy"]}


def test_agents_do_not_see_integrations(web_pool, transactional_db, make_agency, in_browser):
    server = web_pool(0)
    a = make_agency("SinPermiso")

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        login(page, server.base_url, a.agent, a.password)
        page.get_by_role("link", name="Conocimiento").wait_for()
        assert page.get_by_role("link", name="Integraciones").count() == 0
        # Typed by hand, the section is not offered: back to the conversations.
        page.goto(server.base_url + "/console/integrations/webhooks")
        page.wait_for_url(server.base_url + "/console/", timeout=10000)

    in_browser(scenario)
