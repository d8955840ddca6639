"""Real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import http.server
import socketserver
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-features=LocalNetworkAccessChecks"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


from tests.integration.conftest import web_pool  # noqa: E402,F401  (the live servers)


@pytest.fixture
def in_browser():
    """Run `scenario(browser)` in a thread of its own: Playwright's sync API
    drives an event loop, and the test's thread must stay free of one for
    Django's ORM (no DJANGO_ALLOW_ASYNC_UNSAFE here)."""
    from concurrent.futures import ThreadPoolExecutor

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is required (scripts/test.sh installs Debian's chromium)")

    def run(scenario):
        def inner():
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                try:
                    return scenario(browser)
                finally:
                    browser.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(inner).result(timeout=180)

    return run


class PageServer:
    """A customer's website on its own loopback origin, serving one HTML page."""

    def __init__(self):
        self.html = "<!doctype html><title>x</title>"
        self.headers: dict[str, str] = {}  # e.g. a Content-Security-Policy
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = server.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in server.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture
def site():
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
