"""Without a token every staff endpoint of self-service answers 401 (and does
nothing); only sign-up and the invitation link work without one."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.django_db

ID = str(uuid.uuid4())
STAFF_CALLS = [
    ("get", "/api/v1/agency/"), ("patch", "/api/v1/agency/"), ("get", "/api/v1/agency/onboarding"),
    ("get", "/api/v1/members/"), ("post", "/api/v1/members/"), ("patch", f"/api/v1/members/{ID}/"),
    ("delete", f"/api/v1/members/{ID}/"), ("delete", f"/api/v1/members/invitations/{ID}/"),
    ("get", "/api/v1/widget-keys/"), ("post", "/api/v1/widget-keys/"), ("delete", f"/api/v1/widget-keys/{ID}/"),
    ("get", "/api/v1/origins/"), ("post", "/api/v1/origins/"), ("delete", f"/api/v1/origins/{ID}/"),
    ("get", "/api/v1/widget/wordpress-plugin.zip"), ("get", "/api/v1/flows/"), ("post", "/api/v1/flows/drafts/"),
    ("get", f"/api/v1/flows/versions/{ID}/"), ("put", f"/api/v1/flows/versions/{ID}/"),
    ("post", f"/api/v1/flows/versions/{ID}/publish/"), ("get", f"/api/v1/flows/versions/{ID}/diff/?against={ID}"),
]


@pytest.mark.parametrize("method,url", STAFF_CALLS)
def test_staff_endpoints_need_a_token(api, method, url):
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code == 401, (method, url, response.status_code)
    assert response.json()["error"]["code"] == "unauthenticated"


def test_open_endpoints_ignore_a_stale_token(api):
    # Sign-up and invitations ignore Authorization entirely: a stale console token does not block them.
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    signup = api.post("/api/v1/agencies/", {"agency": "A", "name": "B", "email": "c@d.example",
                                            "password": "una-clave-bastante-larga"}, format="json")
    assert signup.status_code == 201
    assert api.get("/api/v1/invitations/desconocido/").status_code == 404
