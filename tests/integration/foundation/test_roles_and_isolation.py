"""Roles (viewer < agent < admin < owner) and absolute tenant isolation:
another agency's objects answer 404, exactly like missing ones."""

from __future__ import annotations

import uuid

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def test_viewer_cannot_manage_keys_but_admin_can(make_agency, login):
    a = make_agency()
    viewer, _ = login(a.viewer)
    agent, _ = login(a.agent)
    admin, _ = login(a.admin)
    assert viewer.post("/api/v1/widget-keys/", {"name": "x"}, format="json").status_code == 403
    assert agent.post("/api/v1/widget-keys/", {"name": "x"}, format="json").status_code == 403
    created = admin.post("/api/v1/widget-keys/", {"name": "web"}, format="json")
    assert created.status_code == 201
    assert created.json()["key"].startswith("pk_")
    assert viewer.get("/api/v1/me").status_code == 200


def _object_urls(agency_users) -> list[str]:
    """Every object endpoint that exists for an agency's objects."""
    from tenancy.models import AllowedOrigin, WidgetKey

    with scopes_disabled():
        key = WidgetKey.objects.filter(agency=agency_users.agency).first()
        origin = AllowedOrigin.objects.filter(agency=agency_users.agency).first()
    return [f"/api/v1/widget-keys/{key.id}/", f"/api/v1/origins/{origin.id}/"]


@pytest.mark.parametrize("method", ["get", "delete", "patch"])
def test_agency_a_gets_404_for_agency_b_objects(two_agencies, login, method):
    a, b = two_agencies
    owner_a, _ = login(a.owner)
    for url in _object_urls(b):
        response = getattr(owner_a, method)(url, {}, format="json")
        assert response.status_code in (404, 405), (url, response.status_code)
        if response.status_code == 404:
            missing = getattr(owner_a, method)(url.replace(url.split("/")[-2], str(uuid.uuid4())), {}, format="json")
            assert missing.status_code == 404
            assert response.json() == missing.json()
    # B's key is untouched.
    from tenancy.models import WidgetKey

    with scopes_disabled():
        assert WidgetKey.objects.filter(agency=b.agency, revoked_at__isnull=True).exists()


def test_lists_never_show_another_agency(two_agencies, login):
    a, b = two_agencies
    owner_a, _ = login(a.owner)
    keys = owner_a.get("/api/v1/widget-keys/").json()["results"]
    origins = owner_a.get("/api/v1/origins/").json()["results"]
    with scopes_disabled():
        from tenancy.models import AllowedOrigin, WidgetKey

        b_keys = set(WidgetKey.objects.filter(agency=b.agency).values_list("key", flat=True))
        b_origins = set(str(i) for i in AllowedOrigin.objects.filter(agency=b.agency).values_list("id", flat=True))
    assert not b_keys & {k["key"] for k in keys}
    assert not b_origins & {o["id"] for o in origins}


def test_unscoped_query_is_refused(db):
    from django_scopes.exceptions import ScopeError

    from tenancy.models import WidgetKey

    with pytest.raises(ScopeError):
        list(WidgetKey.objects.all())


@pytest.mark.parametrize(
    "origin", ["*", "https://a.com/path", "ftp://a.com", "a.com", "https://", "http://*.a.com", "https://a.com?x=1"]
)
def test_bad_origins_are_400_naming_the_field(make_agency, login, origin):
    a = make_agency()
    admin, _ = login(a.admin)
    response = admin.post("/api/v1/origins/", {"origin": origin}, format="json")
    assert response.status_code == 400
    assert "origin" in response.json()["error"]["fields"]


def test_origin_normalised(make_agency, login):
    a = make_agency()
    admin, _ = login(a.admin)
    response = admin.post("/api/v1/origins/", {"origin": "HTTPS://Shop.Example.com:443"}, format="json")
    assert response.status_code == 201
    assert response.json()["origin"] == "https://shop.example.com"


def test_rest_rate_limit_per_user(make_agency, login, settings):
    a = make_agency()
    viewer, _ = login(a.viewer)
    agent, _ = login(a.agent)
    settings.REST_RATE_PER_USER = "3/min"
    for _ in range(3):
        assert viewer.get("/api/v1/me").status_code == 200
    limited = viewer.get("/api/v1/me")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0
    assert agent.get("/api/v1/me").status_code == 200  # per user, not global
