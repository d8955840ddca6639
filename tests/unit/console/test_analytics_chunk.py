"""The analytics dashboard is a chunk of its own: the console's entry script
(what the conversations screen loads) carries no charting library, and the
chunk stays small and free of dynamic code like the rest."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[3] / "console" / "dist"
# A message only Chart.js's core has: present where the library is bundled.
CHART_JS_MARK = b"Canvas is already in use"
BUDGET_GZIP_CHUNK = 100 * 1024


@pytest.fixture(scope="module")
def assets() -> dict[str, bytes]:
    index = DIST / "index.html"
    if not index.exists():
        pytest.fail("console/dist is missing: scripts/bootstrap.sh builds it (npm run build in console/)")
    return {path.name: path.read_bytes() for path in (DIST / "assets").glob("*.js")}


def test_entry_script_has_no_charting_library(assets):
    entry = re.findall(r'src="/console/assets/([^"]+\.js)"', (DIST / "index.html").read_text())
    assert entry and all(CHART_JS_MARK not in assets[name] for name in entry)
    # …and it knows where the dashboard's chunk is, to fetch it on demand.
    assert any(re.search(rb"Analytics-[A-Za-z0-9_-]{8}\.js", assets[name]) for name in entry)


def test_analytics_chunk_is_small_and_static(assets):
    chunks = [body for name, body in assets.items() if name.startswith("Analytics-")]
    assert len(chunks) == 1
    [chunk] = chunks
    assert CHART_JS_MARK in chunk
    assert len(gzip.compress(chunk, 9)) <= BUDGET_GZIP_CHUNK
    assert b"eval(" not in chunk and b"new Function(" not in chunk
