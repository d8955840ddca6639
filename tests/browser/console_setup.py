"""Reusable steps of an agency's onboarding in the console (Spanish UI), for
browser tests to compose: sign up and sign in, set the branding, allow the
site's origin, copy the snippet, paste it into a `site` page and chat there.

Every step waits on a condition the UI shows, never on a fixed sleep. Steps
take a Playwright page (sync API) already in the console unless named otherwise.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import httpx

from tests.browser.console_helpers import login  # noqa: F401  (one of the steps composed here)

PASSWORD = "faro-de-cabo-mayor-42"


def sign_up(server, *, agency: str = "Agencia Nueva", name: str = "Eva Martín", email: str | None = None,
            password: str = PASSWORD) -> dict:
    """POST /api/v1/agencies/ (CONTRACT §5.1): a new agency and its owner.
    Returns the answer plus the credentials used."""
    email = email or f"eva-{uuid.uuid4().hex[:8]}@agencia.example"
    response = httpx.post(server.base_url + "/api/v1/agencies/",
                          json={"agency": agency, "name": name, "email": email, "password": password}, timeout=15)
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email, "password": password, "name": name, "agency_name": agency}


def step(page, step_id: str):
    return page.locator(f'li.step[data-step="{step_id}"]')


def open_step(page, step_id: str):
    """Expand a checklist step (if it is not already) and return its item."""
    item = step(page, step_id)
    toggle = item.locator("button.step-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    item.locator(".step-body").wait_for(state="visible")
    return item


def wait_step_done(page, step_id: str, timeout: float = 30000) -> None:
    """The checklist polls the onboarding API; wait for the step to turn done."""
    page.locator(f'li.step[data-step="{step_id}"][data-done="true"]').wait_for(timeout=timeout)


def png_logo(path: Path, colour: str = "#f59e0b") -> Path:
    """A small real PNG (decoded by the API's check) written to `path`."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 64), colour)
    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill="#ffffff")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def set_branding(page, *, colour: str, logo: Path | None = None, greeting: str | None = None, scope=None) -> None:
    """Fill the branding form (setup step or settings tab) and save it.
    `scope` is the element holding the form (default: the setup step)."""
    box = scope if scope is not None else open_step(page, "branding")
    if logo is not None:
        box.locator('input[type="file"]').set_input_files(str(logo))
        box.locator(".logo-box img").wait_for()
    box.get_by_label("Color principal").fill(colour)
    if greeting is not None:
        box.get_by_label("Saludo").fill(greeting)
    box.get_by_role("button", name="Guardar la imagen").click()
    box.locator(".form-status .saved").wait_for()
    if scope is None:
        wait_step_done(page, "branding")


def add_origin(page, origin: str, *, scope=None) -> None:
    """Allow `origin` through the origins form (setup step by default)."""
    box = scope if scope is not None else open_step(page, "origin")
    box.get_by_label("Origen de tu web").fill(origin)
    box.get_by_role("button", name="Añadir").click()
    box.locator(".rows li", has_text=origin).wait_for()


def copy_snippet(page) -> str:
    """Press Copy in the install step and return what reached the clipboard
    (the context needs the clipboard-read/write permissions)."""
    item = open_step(page, "install")
    item.get_by_role("button", name="Copiar").click()
    item.get_by_role("button", name="¡Copiado!").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == item.locator("textarea.snippet").input_value()
    return copied


def paste_into_site(site, snippet: str, *, title: str = "Panadería Sol") -> None:
    """The customer's page with the snippet pasted before </body>."""
    site.html = (f'<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" '
                 f'content="width=device-width, initial-scale=1"><title>{title}</title></head>'
                 f"<body><h1>{title}</h1><p>Bienvenido a nuestra web.</p>{snippet}</body></html>")


def chat_first_answer(page, *, name: str = "Me llamo Ana García") -> None:
    """In a page (or frame) showing the widget: accept the consent and give the
    first answer, then wait for the assistant's next question."""
    page.locator(".chips button", has_text="Acepto").click()
    page.locator(".msg.assistant", has_text="llamas").wait_for(timeout=30000)
    box = page.get_by_role("textbox")
    box.fill(name)
    box.press("Enter")
    page.locator(".msg.lead", has_text=name.split()[-1]).wait_for()
    page.locator(".msg.assistant:not(.caret)", has_text="empresa").wait_for(timeout=30000)


def chat_in_preview(page, **kwargs):
    """The checklist's test chat: answer once in the console's widget preview.
    Returns the preview's frame."""
    item = open_step(page, "test_chat")
    iframe = item.locator("iframe.preview-frame")
    # The widget's panel is position: fixed inside the frame, so clicking in it
    # does not scroll the console's page: bring the whole frame into view first.
    iframe.scroll_into_view_if_needed()
    frame = item.frame_locator("iframe.preview-frame")
    chat_first_answer(frame, **kwargs)
    return frame


def chat_on_site(browser, site, **kwargs):
    """Open the customer's page in a new tab, open the chat and answer once.
    Returns the page (left open: the conversation stays live)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(site.origin + "/")
    page.get_by_role("button", name="Abrir el chat").click()
    chat_first_answer(page, **kwargs)
    return page
