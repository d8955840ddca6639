"""Steps of the console's flow editor (/console/flows) for browser tests, in
Spanish (the console's default language). Each takes a Playwright page that
is signed in, so other end-to-end tests (onboarding) can chain them:

    login(page, base_url, admin, password)        # tests/browser/console_helpers.py
    add_question_and_publish(page, base_url, prompt_es="¿Cuántos empleados…?", field="employees",
                             type_label="Número", position=2)
"""

from __future__ import annotations

import re

EDITOR_URL = re.compile(r".*/console/flows/[0-9a-f-]{36}$")


def open_flows(page, base_url: str) -> None:
    """The versions list, through the navigation bar as a person would."""
    if "/console/" not in page.url:
        page.goto(base_url + "/console/")
    page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Flujo").click()
    page.get_by_role("heading", name="Flujo de cualificación").wait_for()
    page.locator(".flows-table tbody tr").first.wait_for()


def new_draft(page) -> str:
    """A draft copied from the live version; returns its id (the editor is open)."""
    page.get_by_role("button", name="Nuevo borrador").click()
    page.wait_for_url(EDITOR_URL)
    page.get_by_role("button", name="Publicar").wait_for()
    return page.url.rstrip("/").rsplit("/", 1)[1]


def card(page, field: str):
    return page.locator(f'li.flow-q[data-field="{field}"]')


def toggle(page, field: str) -> None:
    """Open (or close) a question's card."""
    card(page, field).locator(".flow-q-title").click()


def add_question(page, *, prompt_es: str, field: str, type_label: str, prompt_en: str = "",
                 minimum: float | None = None, maximum: float | None = None):
    """Append a question and fill it in; returns its card."""
    page.get_by_role("button", name="Añadir una pregunta").click()
    new = page.locator("li.flow-q").last
    new.get_by_label("Pregunta (español)").fill(prompt_es)
    if prompt_en:
        new.get_by_label("Pregunta (inglés)").fill(prompt_en)
    new.get_by_label("Tipo de respuesta").select_option(label=type_label)
    new.get_by_label("Nombre del dato").fill(field)
    if minimum is not None:
        new.get_by_label("Mínimo").fill(str(minimum))
    if maximum is not None:
        new.get_by_label("Máximo").fill(str(maximum))
    return card(page, field)


def move_by_keyboard(page, field: str, position: int) -> None:
    """Alt+↑ / Alt+↓ on the question's drag handle until it sits at `position` (1-based)."""
    handle = card(page, field).locator(".flow-q-handle")
    handle.focus()
    for _ in range(60):
        current = int(card(page, field).get_attribute("data-position"))
        if current == position:
            return
        page.keyboard.press("Alt+ArrowUp" if current > position else "Alt+ArrowDown")
        page.wait_for_function(
            "([f, p]) => document.querySelector(`li.flow-q[data-field='${f}']`)?.dataset.position !== String(p)",
            arg=[field, current])
    raise AssertionError(f"{field} did not reach position {position}")


def save_draft(page) -> None:
    page.get_by_role("button", name="Guardar borrador").click()
    page.locator(".flows-notice", has_text="Borrador guardado.").wait_for()


def start_preview(page):
    """The embedded chat on the saved draft; returns its frame, opened on the consent question."""
    page.get_by_role("button", name=re.compile("^Probar")).click()
    frame = page.frame_locator("iframe.flows-preview-frame")
    frame.locator(".chips button", has_text="Acepto").wait_for(timeout=20000)
    return frame


def publish(page, number: int | None = None) -> None:
    """Publish the open draft through its confirmation dialog."""
    page.get_by_role("button", name="Publicar", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("siguen con su versión").wait_for()
    dialog.get_by_role("button", name=re.compile(r"^Publicar la versión")).click()
    published = f"La versión {number} está publicada" if number is not None else re.compile(r"La versión \d+ está publicada")
    page.locator(".flows-notice", has_text=published).wait_for()


def add_question_and_publish(page, base_url: str, *, prompt_es: str, field: str, type_label: str,
                             position: int | None = None, prompt_en: str = "") -> str:
    """From anywhere in the signed-in console: a new draft of the live flow
    with one more question (at `position` if given), saved and published.
    Returns the new version's id."""
    open_flows(page, base_url)
    version = new_draft(page)
    add_question(page, prompt_es=prompt_es, prompt_en=prompt_en, field=field, type_label=type_label)
    if position is not None:
        move_by_keyboard(page, field, position)
    save_draft(page)
    publish(page)
    return version
