"""Every self-service endpoint is in the OpenAPI schema with its methods."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

EXPECTED = {
    "/api/v1/agencies/": {"post"},
    "/api/v1/agency/": {"get", "patch"},
    "/api/v1/agency/onboarding": {"get"},
    "/api/v1/members/": {"get", "post"},
    "/api/v1/members/{membership_id}/": {"patch", "delete"},
    "/api/v1/members/invitations/{invitation_id}/": {"delete"},
    "/api/v1/invitations/{token}/": {"get"},
    "/api/v1/invitations/{token}/accept": {"post"},
    "/api/v1/widget-keys/": {"get", "post"},
    "/api/v1/widget-keys/{key_id}/": {"delete"},
    "/api/v1/origins/": {"get", "post"},
    "/api/v1/origins/{origin_id}/": {"delete"},
    "/api/v1/widget/wordpress-plugin.zip": {"get"},
    "/api/v1/flows/": {"get"},
    "/api/v1/flows/drafts/": {"post"},
    "/api/v1/flows/versions/{version_id}/": {"get", "put"},
    "/api/v1/flows/versions/{version_id}/publish/": {"post"},
    "/api/v1/flows/versions/{version_id}/diff/": {"get"},
}


def test_self_service_endpoints_are_documented(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in EXPECTED.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    # The sign-up and the invitation accept need no token; the rest do.
    assert paths["/api/v1/agencies/"]["post"].get("security") in (None, [], [{}])
    assert paths["/api/v1/invitations/{token}/accept"]["post"].get("security") in (None, [], [{}])
    assert paths["/api/v1/agency/"]["patch"]["security"] == [{"staffJWT": []}]
    assert "multipart/form-data" in paths["/api/v1/agency/"]["patch"]["requestBody"]["content"]
    assert "against" in {p["name"] for p in paths["/api/v1/flows/versions/{version_id}/diff/"]["get"]["parameters"]}
