"""The widget bundle: one file within its size budget, no eval, served under a
content-hashed URL with long cache headers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[3] / "widget" / "dist"
BUDGET_GZIP = 25 * 1024


@pytest.fixture(scope="module")
def bundle() -> bytes:
    path = DIST / "markezy.js"
    if not path.exists():
        pytest.fail("widget/dist/markezy.js is missing: scripts/bootstrap.sh builds it")
    return path.read_bytes()


def test_size_budget(bundle):
    size = len(gzip.compress(bundle, 9))
    assert size <= BUDGET_GZIP, f"widget is {size} bytes gzipped, budget {BUDGET_GZIP}"
    manifest = json.loads((DIST / "manifest.json").read_text())
    assert manifest["bytes"] == len(bundle)


def test_no_eval_or_dynamic_code(bundle):
    text = bundle.decode()
    assert "eval(" not in text and "new Function" not in text


def test_served_under_a_hashed_url_with_long_cache(client, db):
    manifest = json.loads((DIST / "manifest.json").read_text())
    stable = client.get("/widget/v1/markezy.js")
    assert stable.status_code == 302
    assert stable["Location"] == f"/widget/v1/markezy.{manifest['hash']}.js"
    assert "max-age=300" in stable["Cache-Control"]
    versioned = client.get(stable["Location"])
    assert versioned.status_code == 200
    assert versioned["Content-Type"].startswith("text/javascript")
    assert "immutable" in versioned["Cache-Control"] and "max-age=31536000" in versioned["Cache-Control"]
    assert client.get("/widget/v1/markezy.0123456789ab.js").status_code == 404
