"""Shared by the self-service tests: a role-matrix runner and widget sessions."""

from __future__ import annotations

import pytest

ROLES = ("viewer", "agent", "admin", "owner")
ORIGIN = "https://cliente.example"


@pytest.fixture
def role_matrix(login):
    def check(agency_users, minimum: str, call, *, ok=(200, 201, 204)) -> dict:
        """`call(client, role)` answers 403 for every role below `minimum` and
        one of `ok` for the others. Returns the responses by role."""
        answers = {}
        allowed = False
        for role in ROLES:
            allowed = allowed or role == minimum
            client, _ = login(agency_users.user(role))
            response = call(client, role)
            answers[role] = response
            if allowed:
                assert response.status_code in ok, (role, response.status_code, response.content[:300])
            else:
                assert response.status_code == 403, (role, response.status_code, response.content[:300])
                assert response.json()["error"]["code"] == "forbidden"
        return answers

    return check


@pytest.fixture
def widget_session():
    def open_session(client, key: str, *, origin: str = ORIGIN, visitor_token: str | None = None):
        body = {"key": key}
        if visitor_token:
            body["visitor_token"] = visitor_token
        return client.post("/api/v1/widget/sessions", body, content_type="application/json", HTTP_ORIGIN=origin)

    return open_session
