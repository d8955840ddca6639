"""The console build: an app shell referencing content-hashed, bundled assets,
served by Django under /console/ with the caching each deserves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[3] / "console" / "dist"
ASSET = re.compile(r'(?:src|href)="(/console/assets/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8,}\.(js|css))"')
BUDGET_GZIP_JS = 150 * 1024


@pytest.fixture(scope="module")
def index() -> str:
    path = DIST / "index.html"
    if not path.exists():
        pytest.fail("console/dist/index.html is missing: scripts/bootstrap.sh builds it (npm run build in console/)")
    return path.read_text()


def test_index_references_hashed_assets_that_exist(index):
    assets = ASSET.findall(index)
    kinds = {kind for _, kind in assets}
    assert kinds == {"js", "css"}, index
    for url, _ in assets:
        assert (DIST / url.removeprefix("/console/")).is_file(), url


def test_no_inline_script_and_no_cdn(index):
    # The CSP is `script-src 'self'`: an inline script would not run.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", index, flags=re.S)
    assert scripts and all('src="/console/' in attrs and not body.strip() for attrs, body in scripts)
    assert "http://" not in index and "https://" not in index


def test_bundle_size_and_no_dynamic_code(index):
    import gzip

    for url, kind in ASSET.findall(index):
        if kind == "js":
            body = (DIST / url.removeprefix("/console/")).read_bytes()
            assert len(gzip.compress(body, 9)) <= BUDGET_GZIP_JS
            assert b"eval(" not in body and b"new Function(" not in body


def test_served_with_shell_fallback_and_immutable_assets(client, db, index):
    shell = client.get("/console/c/6f1c2f4e-9a43-4c1e-9a7e-2f1f0f5f9b10")
    assert shell.status_code == 200 and shell["Cache-Control"] == "no-cache"
    assert shell.content.decode() == index
    assert "script-src 'self'" in shell["Content-Security-Policy"]
    url = ASSET.findall(index)[0][0]
    asset = client.get(url)
    assert asset.status_code == 200
    assert asset["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.content == (DIST / url.removeprefix("/console/")).read_bytes()
