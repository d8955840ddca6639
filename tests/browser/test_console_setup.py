"""An agency's onboarding in the console, in real Chromium against the live
service: sign-up → checklist → branding, origin, preview chat, snippet on the
customer's site and a chat there → settings (key revoked: the widget stops) →
team (an invitation pending). Screenshots at desktop and tablet width, es/en."""

from __future__ import annotations

import zipfile

import pytest
from django_scopes import scopes_disabled

from tests.browser import console_setup as cs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

SHOTS = [(1280, 900, "desktop"), (820, 1100, "tablet")]


def _watch_errors(page, errors: list[str]) -> None:
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The browser logs each 4xx the test provokes on purpose (a bad origin, a refused session).
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)


def _on_failure_screenshots(screenshots):
    """A failing scenario leaves a picture of every open page (failed-<n>.png)."""
    def wrap(scenario):
        def run(browser):
            try:
                return scenario(browser)
            except Exception:
                pages = [p for c in browser.contexts for p in c.pages]
                for i, p in enumerate(pages):
                    p.screenshot(path=screenshots / f"failed-setup-{i}.png")
                raise
        return run
    return wrap


def _set_lang(page, lang: str) -> None:
    page.locator(".lang button", has_text=lang.upper()).click()
    page.wait_for_function("l => document.documentElement.lang === l", arg=lang)


def _shoot(page, screenshots, name: str, ready) -> list[str]:
    """`name` at each width and language, from the top; `ready(page)` waits for the screen."""
    taken = []
    for width, height, label in SHOTS:
        page.set_viewport_size({"width": width, "height": height})
        for lang in ("es", "en"):
            _set_lang(page, lang)
            ready(page)
            page.evaluate("document.getElementById('main').scrollTo(0, 0)")
            path = screenshots / f"{name}-{label}-{lang}.png"
            page.screenshot(path=path)
            taken.append(path.name)
    _set_lang(page, "es")
    page.set_viewport_size({"width": 1280, "height": 900})
    return taken


def test_onboarding_from_sign_up_to_a_chat_on_the_site(web_pool, transactional_db, in_browser, site, screenshots,
                                                      tmp_path):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="60", CHAT_RATE_BURST="100")
    owner = cs.sign_up(server, agency="Estudio Faro", name="Eva Martín")
    logo = cs.png_logo(tmp_path / "logo.png")

    @_on_failure_screenshots(screenshots)
    def scenario(browser):
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        errors: list[str] = []
        _watch_errors(page, errors)
        out = {"errors": errors}

        # The checklist's first drawn state, caught by a MutationObserver before any
        # later effect: the next step must already be open there, or a click landing
        # in between closes the step it meant to open.
        context.add_init_script("""
            new MutationObserver((_, observer) => {
              const next = document.querySelector("li.step.next");
              if (!next) return;
              window.__firstChecklist = {step: next.dataset.step,
                expanded: next.querySelector(".step-toggle").getAttribute("aria-expanded"),
                bodyHidden: next.querySelector(".step-body").hidden};
              observer.disconnect();
            }).observe(document, {childList: true, subtree: true});
        """)

        # A new agency's first sign-in lands on the checklist, nothing done, branding next.
        cs.login(page, server.base_url, owner["email"], owner["password"])
        page.wait_for_url("**/console/setup")
        page.locator("li.step.next[data-step=branding]").wait_for()
        out["first_checklist"] = page.evaluate("window.__firstChecklist")
        out["initial"] = page.locator("li.step").evaluate_all("els => els.map(e => e.dataset.done)")
        page.screenshot(path=screenshots / "setup-start-desktop-es.png")

        # 1. Branding inline: an invalid colour is refused next to the field, then colour + logo.
        box = cs.open_step(page, "branding")
        box.get_by_label("Color principal").fill("#12345")
        box.get_by_role("button", name="Guardar la imagen").click()
        out["colour_error"] = box.locator(".field.invalid .field-error").inner_text()
        cs.set_branding(page, colour="#0e7490", logo=logo)

        # 2. Origin: a URL with a path is refused by the API, named next to the field.
        box = cs.open_step(page, "origin")
        box.get_by_label("Origen de tu web").fill(site.origin + "/contacto")
        box.get_by_role("button", name="Añadir").click()
        error = box.locator(".field.invalid .field-error")
        error.wait_for()
        out["origin_error"] = error.inner_text()
        out["origin_invalid"] = box.get_by_label("Origen de tu web").get_attribute("aria-invalid")
        page.screenshot(path=screenshots / "setup-origin-error-desktop-es.png")
        cs.add_origin(page, site.origin)
        cs.wait_step_done(page, "origin")
        page.locator("li.step.next[data-step=install]").wait_for()

        # 4. The preview chat in the console (before installing): test_chat turns done, install does not.
        frame = cs.chat_in_preview(page, name="Me llamo Prueba Interna")
        out["preview_header"] = frame.locator("header").evaluate("h => getComputedStyle(h).backgroundColor")
        out["preview_logo"] = frame.locator("header img.logo").count()
        cs.wait_step_done(page, "test_chat")
        page.screenshot(path=screenshots / "setup-preview-desktop-es.png")
        out["install_after_preview"] = cs.step(page, "install").get_attribute("data-done")

        # 3. Install: the snippet, copied, pasted into the customer's page; a lead chats there.
        snippet = cs.copy_snippet(page)
        out["snippet"] = snippet
        page.screenshot(path=screenshots / "setup-install-desktop-es.png")
        # …or the WordPress plugin, pre-filled with the same key.
        item = cs.open_step(page, "install")
        item.get_by_role("button", name="WordPress").click()
        with page.expect_download() as download:
            item.get_by_role("button", name="Descargar el plugin (.zip)").click()
        out["plugin_name"] = download.value.suggested_filename
        with zipfile.ZipFile(download.value.path()) as archive:
            out["plugin_text"] = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                                         if n.endswith(".php"))
        page.screenshot(path=screenshots / "setup-install-wordpress-desktop-es.png")
        item.get_by_role("button", name="Código HTML").click()
        cs.paste_into_site(site, snippet)
        lead_page = cs.chat_on_site(browser, site)
        cs.wait_step_done(page, "install")
        out["final"] = {s: cs.step(page, s).get_attribute("data-done")
                        for s in ("branding", "origin", "install", "test_chat", "clientify")}
        out["next"] = page.locator("li.step.next").get_attribute("data-step")
        out["setup_shots"] = _shoot(page, screenshots, "setup",
                                    lambda p: p.locator("li.step.next[data-step=clientify]").wait_for())

        # Settings: each tab, then revoke the key: open chats close, the next session fails.
        page.get_by_role("link", name="Ajustes").click()
        page.wait_for_url("**/console/settings")
        page.get_by_label("Nombre de la agencia").wait_for()
        out["settings_shots"] = _shoot(page, screenshots, "settings-general",
                                       lambda p: p.locator("form .field").first.wait_for())
        page.get_by_role("link", name="Imagen del chat").click()
        page.locator(".widget-look").wait_for()
        out["settings_logo"] = page.locator(".logo-box img").count()
        out["settings_colour"] = page.get_by_label("Color principal").input_value()
        out["settings_shots"] += _shoot(page, screenshots, "settings-branding",
                                        lambda p: p.locator(".widget-look").wait_for())
        page.get_by_role("link", name="Privacidad").click()
        page.get_by_label("Versión").fill("2")
        page.get_by_role("note").wait_for()
        out["version_warning"] = page.get_by_role("note").inner_text()
        out["settings_shots"] += _shoot(page, screenshots, "settings-privacy", lambda p: p.get_by_role("note").wait_for())
        page.get_by_role("link", name="Puntuación").click()
        page.get_by_label("Presupuesto").fill("150")
        page.get_by_role("button", name="Guardar").click()
        budget_error = page.locator(".field.invalid .field-error")
        budget_error.wait_for()
        out["scoring_error"] = budget_error.inner_text()
        out["settings_shots"] += _shoot(page, screenshots, "settings-scoring",
                                        lambda p: p.locator(".field.invalid").wait_for())
        page.get_by_role("link", name="Widget").click()
        key_row = page.locator(".rows.keys li").first
        key_row.wait_for()
        out["settings_shots"] += _shoot(page, screenshots, "settings-widget", lambda p: p.locator(".rows.keys li").first.wait_for())
        key_row.get_by_role("button", name="Revocar").click()
        dialog = page.get_by_role("dialog")
        dialog.wait_for()
        out["revoke_text"] = dialog.inner_text()
        page.screenshot(path=screenshots / "settings-revoke-desktop-es.png")
        dialog.get_by_role("button", name="Revocar la clave").click()
        page.locator(".rows.keys li").wait_for(state="detached")
        # The lead's open chat is closed (4403: the widget stops reconnecting); a new visit gets no chat.
        refused = browser.new_page()
        # Cross-origin, the refusal comes at the preflight (no CORS for a revoked key) or as a 403.
        outcome: list[str] = []
        sessions = "/api/v1/widget/sessions"
        refused.on("response", lambda r: outcome.append(f"status {r.status}") if sessions in r.url else None)
        refused.on("requestfailed", lambda r: outcome.append("failed") if sessions in r.url else None)
        refused.goto(site.origin + "/")
        for _ in range(200):
            if outcome:
                break
            refused.wait_for_timeout(50)
        out["session_after_revoke"] = outcome
        out["launcher_after_revoke"] = refused.get_by_role("button", name="Abrir el chat").count()
        lead_page.close()

        # Team: invite someone, the invitation is pending with its expiry; the last owner cannot step down.
        page.get_by_role("link", name="Equipo").click()
        page.wait_for_url("**/console/team")
        page.get_by_label("Email").fill("nuevo@estudiofaro.example")
        page.get_by_label("Rol", exact=True).select_option("agent")
        page.get_by_role("button", name="Enviar invitación").click()
        pending = page.locator('[data-invitation="nuevo@estudiofaro.example"]')
        pending.wait_for()
        out["pending"] = pending.inner_text()
        page.get_by_label(f"Rol de {owner['name']}").select_option("admin")
        last_owner = page.locator(f'[data-member="{owner["email"]}"] .field-error')
        last_owner.wait_for()
        out["last_owner"] = last_owner.inner_text()
        out["team_shots"] = _shoot(page, screenshots, "team", lambda p: p.locator("table.members").wait_for())
        return out

    out = in_browser(scenario)
    assert not out["errors"], out["errors"]
    assert out["initial"] == ["false"] * 5
    assert out["first_checklist"] == {"step": "branding", "expanded": "true", "bodyHidden": False}
    assert "#rrggbb" in out["colour_error"]
    assert "ruta" in out["origin_error"] and out["origin_invalid"] == "true"
    assert out["preview_header"] == "rgb(14, 116, 144)" and out["preview_logo"] == 1
    assert out["install_after_preview"] == "false"
    assert out["snippet"] == f'<script src="{server.base_url}/widget/v1/markezy.js" data-key="{_key(owner)}" async></script>'
    assert out["plugin_name"] == "markezy-wordpress-plugin.zip"
    assert _key(owner) in out["plugin_text"] and server.base_url in out["plugin_text"]
    assert out["final"] == {"branding": "true", "origin": "true", "install": "true", "test_chat": "true",
                            "clientify": "false"}
    assert out["next"] == "clientify"
    assert out["settings_logo"] == 1 and out["settings_colour"] == "#0e7490"
    assert "consentimiento otra vez" in out["version_warning"]
    assert "100" in out["scoring_error"]
    assert "conversaciones abiertas" in out["revoke_text"]
    assert out["session_after_revoke"] and set(out["session_after_revoke"]) <= {"failed", "status 403"}
    assert out["launcher_after_revoke"] == 0
    assert "Agente" in out["pending"] and "caduca" in out["pending"]
    assert "propietario" in out["last_owner"]
    assert len(out["setup_shots"]) == 4 and len(out["team_shots"]) == 4
    with scopes_disabled():
        from chat.models import Conversation

        origins = set(Conversation.objects.filter(agency_id=owner["agency"]).values_list("origin", flat=True))
    # The preview's conversation keeps the console's origin; the site's its own.
    assert origins == {site.origin, server.base_url}


def _key(owner) -> str:
    from tenancy.models import WidgetKey

    with scopes_disabled():
        return WidgetKey.objects.filter(agency_id=owner["agency"]).order_by("created").first().key


def test_admins_see_the_team_read_only_and_logo_errors_show(web_pool, transactional_db, make_agency, in_browser,
                                                            screenshots, tmp_path):
    server = web_pool(0, OFFLINE_TOKENS_PER_SECOND="60", CHAT_RATE_BURST="100")
    a = make_agency("Revisiones")
    fake = tmp_path / "logo.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"no es una imagen" * 10)
    big = cs.png_logo(tmp_path / "grande.png")
    big.write_bytes(big.read_bytes() + b"\0" * (1024 * 1024 + 1))
    gif = tmp_path / "logo.gif"
    gif.write_bytes(b"GIF89a" + b"\0" * 20)

    @_on_failure_screenshots(screenshots)
    def scenario(browser):
        out = {}
        agent = browser.new_page(viewport={"width": 1280, "height": 900})
        cs.login(agent, server.base_url, a.agent.email, a.password)
        out["agent_nav"] = agent.locator("nav.sections a").all_inner_texts()
        agent.close()

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        _watch_errors(page, errors)
        cs.login(page, server.base_url, a.admin.email, a.password)
        # The widget has not run on a site yet: the admin lands on the checklist too.
        page.wait_for_url("**/console/setup")
        # Keyboard: a step opens with Enter and Tab moves into its form.
        page.locator("li[data-step=install] .step-toggle").focus()
        page.keyboard.press("Enter")
        page.locator("li[data-step=install] textarea.snippet").wait_for()
        page.keyboard.press("Tab")
        out["focus_in_step"] = page.evaluate("document.activeElement.closest('li.step')?.dataset.step")
        page.get_by_role("link", name="Equipo").click()
        page.locator("table.members tbody tr").first.wait_for()
        out["reason"] = page.get_by_role("note").inner_text()
        out["invite_disabled"] = page.get_by_role("button", name="Enviar invitación").is_disabled()
        out["selects_disabled"] = page.locator("table.members select").evaluate_all("els => els.map(e => e.disabled)")
        out["described"] = page.get_by_label(f"Rol de {a.agent.name}").get_attribute("aria-describedby")
        page.screenshot(path=screenshots / "team-admin-desktop-es.png")

        page.get_by_role("link", name="Ajustes").click()
        page.get_by_role("link", name="Imagen del chat").click()
        file_input = page.locator('.branding input[type="file"]')
        file_input.wait_for(state="attached")
        logo_error = page.locator(".branding .field.invalid .field-error")
        file_input.set_input_files(str(fake))
        logo_error.wait_for()
        out["bad_bytes"] = logo_error.inner_text()
        file_input.set_input_files(str(big))
        page.locator(".branding .field-error", has_text="1 MB").wait_for()
        out["too_big"] = logo_error.inner_text()
        file_input.set_input_files(str(gif))
        page.locator(".branding .field-error", has_text="WebP").wait_for()
        out["gif"] = logo_error.inner_text()
        page.screenshot(path=screenshots / "settings-logo-error-desktop-es.png")
        # The colour: the picker and the text field agree; an invalid hex is refused next to it.
        page.get_by_label("Elegir el color").fill("#be123c")
        out["hex"] = page.get_by_label("Color principal").input_value()
        out["header"] = page.locator(".wl-head").evaluate("h => getComputedStyle(h).backgroundColor")
        # A list field's error names the bad entry.
        page.get_by_role("link", name="General").click()
        page.get_by_label("Emails de aviso de nuevos leads").fill("ventas@revision.example\nno-es-un-email")
        page.get_by_role("button", name="Guardar").click()
        email_error = page.locator(".field.invalid .field-error")
        email_error.wait_for()
        out["email_error"] = email_error.inner_text()
        # The revoke dialog: Escape cancels, nothing is revoked.
        page.get_by_role("link", name="Widget").click()
        page.get_by_role("button", name="Revocar").first.click()
        page.get_by_role("dialog").wait_for()
        out["dialog_focus"] = page.evaluate("document.activeElement.textContent")
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden")
        out["keys_left"] = page.locator(".rows.keys li").count()
        out["errors"] = errors
        return out

    out = in_browser(scenario)
    assert out["focus_in_step"] == "install"
    assert out["email_error"].startswith("no-es-un-email: ")
    assert out["dialog_focus"] == "Cancelar" and out["keys_left"] == 1
    # An agent is offered the sections it can use (viewer+), none of the admin ones.
    assert out["agent_nav"][0] == "Conversaciones"
    assert not {"Puesta en marcha", "Ajustes", "Equipo", "Integraciones", "Flujo"} & set(out["agent_nav"])
    assert "propietarios" in out["reason"]
    assert out["invite_disabled"] is True and out["selects_disabled"] and all(out["selects_disabled"])
    assert out["described"] == "team-owner-only"
    assert "no es una imagen válida" in out["bad_bytes"]  # the API decoded the bytes
    assert "1 MB" in out["too_big"] and "WebP" in out["gif"]
    assert out["hex"] == "#be123c" and out["header"] == "rgb(190, 18, 60)"
    assert not out["errors"], out["errors"]
