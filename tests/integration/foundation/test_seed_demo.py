"""`manage.py seed_demo` (CONTRACT §1): one JSON object, idempotent."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def _counts():
    from chat.models import Conversation
    from qualification.models import Flow, FlowVersion
    from tenancy.models import Agency, AllowedOrigin, Membership, User, WidgetKey

    with scopes_disabled():
        return {m.__name__: m.objects.count() for m in (Agency, User, Membership, WidgetKey, AllowedOrigin, Flow,
                                                        FlowVersion, Conversation)}


def _run(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_json_output_and_idempotence(client):
    first = json.loads(_run("--json", "--origin", "https://demo.example", "--origin", "http://localhost:3000"))
    assert set(first) == {"agency", "widget_key", "origins", "owner"}
    assert set(first["owner"]) == {"email", "password"}
    assert first["widget_key"].startswith("pk_")
    assert first["origins"] == ["http://localhost:8000", "https://demo.example", "http://localhost:3000"]
    counts = _counts()
    raw = _run("--json", "--origin", "https://demo.example", "--origin", "http://localhost:3000")
    assert raw.count("\n") <= 1 and json.loads(raw) == first
    assert _counts() == counts
    # The credentials work, and the key opens a widget session from an allowed origin.
    login = client.post("/api/v1/auth/token", first["owner"], content_type="application/json")
    assert login.status_code == 200
    session = client.post("/api/v1/widget/sessions", {"key": first["widget_key"]}, content_type="application/json",
                          HTTP_ORIGIN="https://demo.example")
    assert session.status_code == 201


def test_bad_origin_is_refused():
    with pytest.raises(Exception) as excinfo:
        _run("--json", "--origin", "ftp://nope")
    assert "origin" in str(excinfo.value)
