"""POST /api/v1/agencies/ (CONTRACT §5.1): self-service sign-up."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db

GOOD = {"agency": "Agencia Nueva", "name": "Marta Ruiz", "email": "marta@nueva.example", "password": "tres-pinos-y-un-faro"}


def test_signup_creates_agency_owner_flow_and_key_and_logs_in(api):
    from qualification.models import Flow, FlowVersion
    from tenancy.models import AllowedOrigin, Membership, User, WidgetKey

    response = api.post("/api/v1/agencies/", GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"agency", "access", "refresh"}
    with scopes_disabled():
        user = User.objects.get(email="marta@nueva.example")
        assert user.name == "Marta Ruiz" and user.check_password(GOOD["password"])
        membership = Membership.objects.get(user=user)
        assert str(membership.agency_id) == body["agency"] and membership.role == "owner"
        assert membership.agency.name == "Agencia Nueva"
        assert WidgetKey.objects.filter(agency_id=body["agency"], revoked_at__isnull=True).count() == 1
        assert not AllowedOrigin.objects.filter(agency_id=body["agency"]).exists()
        flow = Flow.objects.get(agency_id=body["agency"])
        version = FlowVersion.objects.get(flow=flow)
        assert version.status == "published" and version.definition["questions"][0]["field"] == "consent"
    # The tokens work at once, as the owner of the new agency.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api.get("/api/v1/me").json()
    assert me["role"] == "owner" and me["agency"]["id"] == body["agency"]
    assert len(api.get("/api/v1/widget-keys/").json()["results"]) == 1
    assert api.get("/api/v1/origins/").json()["results"] == []
    refreshed = api.post("/api/v1/auth/refresh", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_taken_email_is_400_naming_email(api, make_agency):
    a = make_agency()
    response = api.post("/api/v1/agencies/", {**GOOD, "email": a.owner.email.upper()}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_taken"
    assert "email" in response.json()["error"]["fields"]


@pytest.mark.parametrize("password", ["corta", "12345678901234", "password123", "marta@nueva.example"])
def test_weak_password_is_400_naming_password(api, password):
    from tenancy.models import Agency

    before = Agency.objects.count()
    response = api.post("/api/v1/agencies/", {**GOOD, "password": password}, format="json")
    assert response.status_code == 400, password
    assert "password" in response.json()["error"]["fields"]
    assert Agency.objects.count() == before


def test_missing_fields_are_400(api):
    response = api.post("/api/v1/agencies/", {"email": "no-es-email"}, format="json")
    assert response.status_code == 400
    assert {"agency", "name", "email", "password"} <= set(response.json()["error"]["fields"])


def test_signup_disabled_is_refused(api, settings):
    settings.SIGNUP_ENABLED = False
    response = api.post("/api/v1/agencies/", GOOD, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "signup_disabled"


def test_signup_is_throttled_per_ip(api, settings):
    settings.SIGNUP_PER_IP_PER_HOUR = 2
    for i in range(2):
        ok = api.post("/api/v1/agencies/", {**GOOD, "email": f"p{i}@nueva.example"}, format="json")
        assert ok.status_code == 201
    limited = api.post("/api/v1/agencies/", {**GOOD, "email": "p9@nueva.example"}, format="json")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0
    # Another IP is not affected.
    other = api.post("/api/v1/agencies/", {**GOOD, "email": "p10@nueva.example"}, format="json", REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 201
