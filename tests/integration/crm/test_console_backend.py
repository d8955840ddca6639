"""What the console's integrations screen needs beyond the sync itself: a
connection test against the Clientify emulator that stores nothing, and dead
letters that say whose sync failed."""

from __future__ import annotations

import pytest
from django_scopes import scope

from tests.integration.crm.helpers import TOKEN_A, TOKEN_B, connect, qualified_lead_row

pytestmark = pytest.mark.django_db

TEST_URL = "/api/v1/integrations/clientify/test"


def test_connection_test_reports_ok_rejected_and_unavailable(make_agency, login, crm, queued):
    from integrations.models import ClientifyConnection

    a = make_agency()
    admin, _ = login(a.admin)
    # Nothing stored and nothing typed: nothing to test, said next to the field.
    missing = admin.post(TEST_URL, {}, format="json")
    assert missing.status_code == 400 and "api_token" in missing.json()["error"]["fields"]

    typed = admin.post(TEST_URL, {"api_token": TOKEN_A}, format="json")
    assert typed.status_code == 200, typed.content
    assert typed.json()["ok"] is True and typed.json()["account"]["id"]
    assert crm.requests(path=r"^/settings/my-account/$")[-1].headers["Authorization"] == f"Token {TOKEN_A}"
    with scope(agency=a.agency.id):
        assert not ClientifyConnection.objects.exists()  # a test stores nothing

    rejected = admin.post(TEST_URL, {"api_token": "no-es-un-token"}, format="json").json()
    assert rejected["ok"] is False and rejected["code"] == "token_rejected" and rejected["status"] == 401
    assert "no-es-un-token" not in rejected["message"]

    # Without a token in the body the stored one is tested.
    connect(a)
    assert admin.post(TEST_URL, {}, format="json").json()["ok"] is True
    assert crm.requests(path=r"^/settings/my-account/$")[-1].headers["Authorization"] == f"Token {TOKEN_A}"

    crm.inject("error", status=503, path=r"^/settings/my-account/$")
    down = admin.post(TEST_URL, {}, format="json").json()
    assert down["ok"] is False and down["code"] == "clientify_unavailable" and down["status"] == 503
    # The sync's health and breaker are not the test's to change.
    body = admin.get("/api/v1/integrations/clientify/").json()
    assert body["health"]["consecutive_failures"] == 0 and body["health"]["breaker"]["state"] == "closed"


def test_connection_test_roles_and_another_agency(two_agencies, login, crm, queued):
    a, b = two_agencies
    connect(a)
    for user in (a.agent, a.viewer):
        client, _ = login(user)
        assert client.post(TEST_URL, {}, format="json").status_code == 403
    owner, _ = login(a.owner)
    assert owner.post(TEST_URL, {}, format="json").json()["ok"] is True
    # B has no token of its own: A's stored token is never used for B.
    admin_b, _ = login(b.admin)
    before = len(crm.requests())
    assert admin_b.post(TEST_URL, {}, format="json").status_code == 400
    assert len(crm.requests()) == before
    assert admin_b.post(TEST_URL, {"api_token": TOKEN_B}, format="json").json()["ok"] is True
    assert admin_b.get("/api/v1/integrations/clientify/").json()["api_token"] is None  # tested, not stored


def test_dead_letters_name_the_lead_and_its_conversation_and_resync(make_agency, login, crm, queued,
                                                                  django_capture_on_commit_callbacks):
    from integrations.tasks import crm_sync

    a = make_agency()
    connect(a)
    lead = qualified_lead_row(a.agency, n=7)
    crm.inject("error", status=400, path=r"^/contacts/$", method="POST")
    assert crm_sync(lead_id=str(lead.id), agency_id=str(a.agency.id), reset=True) == "failed"
    agent, _ = login(a.agent)
    (dead,) = agent.get("/api/v1/integrations/clientify/dead-letters/").json()["results"]
    assert dead["lead"] == str(lead.id) and dead["lead_name"] == "Lead Número7 Pérez"
    assert dead["conversation"] == str(lead.conversation_id) and dead["status"] == "failed"
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert agent.post(f"/api/v1/leads/{lead.id}/resync/").status_code == 202
    (job,) = queued.named("integrations.tasks.crm_sync")
    assert crm_sync(**job) == "synced"
    assert agent.get("/api/v1/integrations/clientify/dead-letters/").json()["results"] == []
    assert len(crm.contacts(token=TOKEN_A)) == 1


def test_the_connection_test_is_in_the_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    operation = response.json()["paths"]["/api/v1/integrations/clientify/test"]["post"]
    assert operation["operationId"] == "integrations_clientify_test"
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert result["$ref"].endswith("/ClientifyTestResult")
