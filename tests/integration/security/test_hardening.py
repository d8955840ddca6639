"""HTTP hardening: production settings pass `check --deploy`, refuse a
wildcard host, headers on every response, CORS only on the widget endpoint,
secrets and personal data never in logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[3]


def _production_env(tmp_path, **extra) -> dict:
    import secrets

    env = {**os.environ, "MARKEZY_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50),
           "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
           "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ALLOWED_HOSTS": "chat.example.com",
           "MARKEZY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "project.settings"}
    env.pop("DEBUG", None)
    env.update(extra)
    return env


def test_check_deploy_is_clean(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=_production_env(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("extra", [{"ALLOWED_HOSTS": "*"}, {"SECRET_KEY": ""}, {"FIELD_ENCRYPTION_KEYS": ""}])
def test_production_refuses_unsafe_settings(tmp_path, extra):
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_production_env(tmp_path, **extra),
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "production" in result.stderr


@pytest.mark.django_db
def test_security_headers_and_no_cors_outside_the_widget(client, make_agency):
    make_agency()
    response = client.get("/api/v1/me", HTTP_ORIGIN="https://cliente.example")
    assert response.status_code == 401
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "Access-Control-Allow-Origin" not in response


def test_log_processor_redacts_secrets_and_personal_data():
    from project.logging import redact

    event = redact(None, "info", {"event": "login for ana@correo.es with Bearer abc.def.ghi", "password": "hunter2",
                                  "api_token": "tok", "email": "x@y.es", "count": 3})
    assert "ana@correo.es" not in event["event"] and "abc.def.ghi" not in event["event"]
    assert event["password"] == event["api_token"] == event["email"] == "[redacted]"
    assert event["count"] == 3


@pytest.mark.django_db
def test_failed_login_logs_no_credentials(client, make_agency, caplog):
    a = make_agency()
    with caplog.at_level(logging.DEBUG):
        client.post("/api/v1/auth/token", {"email": a.owner.email, "password": "wrong-password-123"},
                    content_type="application/json")
    assert "wrong-password-123" not in caplog.text
