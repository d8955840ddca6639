"""Helpers of the console's section tests in Chromium."""

from __future__ import annotations


def login(page, base_url: str, user, password: str) -> None:
    """Sign in through the console's form (`user`: a User or an email) and wait
    until the monitor socket is live. Every browser test signs in through this."""
    email = user if isinstance(user, str) else user.email
    page.goto(base_url + "/console/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Entrar").click()
    page.locator(".conn.live").wait_for(timeout=20000)


def shoot(page, path) -> None:
    """The whole section: it scrolls inside `.page`, so the viewport grows to its height for the shot."""
    size = page.viewport_size
    height = page.evaluate("(() => { const p = document.querySelector('.page');"
                           " return p ? p.getBoundingClientRect().top + p.scrollHeight : innerHeight; })()")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height) + 1)})
    page.screenshot(path=path)
    page.set_viewport_size(size)


def drop_files(page, selector: str, files: list[tuple[str, str, str]]) -> None:
    """Drop files on an element the way a desktop drag does (a DataTransfer with File objects)."""
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, type, text] of files) dt.items.add(new File([text], name, { type }));
            return dt;
        }""", files)
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})
