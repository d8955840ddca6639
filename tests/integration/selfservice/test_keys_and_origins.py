"""Widget keys, allowed origins and the WordPress plugin (CONTRACT §5.1)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def test_widget_keys_role_matrix_and_shapes(make_agency, role_matrix):
    a = make_agency()
    role_matrix(a, "admin", lambda c, role: c.get("/api/v1/widget-keys/"))
    created = role_matrix(a, "admin", lambda c, role: c.post("/api/v1/widget-keys/", {"name": f"web {role}"},
                                                             format="json"), ok=(201,))
    body = created["owner"].json()
    assert set(body) == {"id", "key", "name", "created"}
    assert body["key"].startswith("pk_") and body["name"] == "web owner"
    unnamed = created["admin"]
    assert unnamed.status_code == 201
    ids = {role: created[role].json()["id"] for role in ("admin", "owner")}
    ids.update(viewer=ids["admin"], agent=ids["admin"])
    role_matrix(a, "admin", lambda c, role: c.delete(f"/api/v1/widget-keys/{ids[role]}/"), ok=(204,))


def test_key_create_and_revoke_are_audited(make_agency, login):
    from tenancy.models import AuditLog

    a = make_agency()
    admin, _ = login(a.admin)
    key = admin.post("/api/v1/widget-keys/", {}, format="json").json()
    assert key["name"] == ""
    assert admin.delete(f"/api/v1/widget-keys/{key['id']}/").status_code == 204
    assert key["id"] not in {k["id"] for k in admin.get("/api/v1/widget-keys/").json()["results"]}
    with scopes_disabled():
        actions = list(AuditLog.objects.filter(agency=a.agency, target=key["id"]).values_list("action", "actor_user_id"))
    assert sorted(actions) == [("widget_key.create", a.admin.id), ("widget_key.revoke", a.admin.id)]


def test_origins_role_matrix_and_shapes(make_agency, role_matrix):
    a = make_agency(origins=())
    role_matrix(a, "admin", lambda c, role: c.get("/api/v1/origins/"))
    created = role_matrix(a, "admin", lambda c, role: c.post("/api/v1/origins/", {"origin": f"https://{role}.example"},
                                                             format="json"), ok=(201,))
    body = created["owner"].json()
    assert set(body) == {"id", "origin"} and body["origin"] == "https://owner.example"
    ids = {role: created[role].json()["id"] for role in ("admin", "owner")}
    ids.update(viewer=ids["admin"], agent=ids["admin"])  # refused before they are looked at
    role_matrix(a, "admin", lambda c, role: c.delete(f"/api/v1/origins/{ids[role]}/"), ok=(204,))


@pytest.mark.parametrize("origin", ["*", "https://a.com/path", "ftp://a.com", "https://a.com?x=1", "a.com",
                                    "http://*.a.com", "https://*", "https://user:pw@a.com", ""])
def test_bad_origins_are_400_naming_origin(make_agency, login, origin):
    a = make_agency(origins=())
    admin, _ = login(a.admin)
    response = admin.post("/api/v1/origins/", {"origin": origin}, format="json")
    assert response.status_code == 400, (origin, response.content)
    assert "origin" in response.json()["error"]["fields"]
    assert admin.get("/api/v1/origins/").json()["results"] == []


def test_origin_added_lets_sessions_in_at_once_and_removed_refuses_the_next(make_agency, login, client, widget_session):
    a = make_agency(origins=())
    admin, _ = login(a.admin)
    site = "https://tienda-nueva.example"
    refused = widget_session(client, a.key.key, origin=site)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    added = admin.post("/api/v1/origins/", {"origin": "HTTPS://Tienda-Nueva.example:443"}, format="json")
    assert added.status_code == 201 and added.json()["origin"] == site
    ok = widget_session(client, a.key.key, origin=site)
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == site
    assert admin.delete(f"/api/v1/origins/{added.json()['id']}/").status_code == 204
    again = widget_session(client, a.key.key, origin=site)
    assert again.status_code == 403 and again.json()["error"]["code"] == "origin_not_allowed"
    # Resuming is refused too: the origin check comes before the visitor token.
    resumed = widget_session(client, a.key.key, origin=site, visitor_token=ok.json()["visitor_token"])
    assert resumed.status_code == 403


def test_wildcard_origin_through_the_api(make_agency, login, client, widget_session):
    a = make_agency(origins=())
    admin, _ = login(a.admin)
    assert admin.post("/api/v1/origins/", {"origin": "https://*.cadena.example"}, format="json").status_code == 201
    assert widget_session(client, a.key.key, origin="https://madrid.cadena.example").status_code == 201
    assert widget_session(client, a.key.key, origin="https://cadena.example").status_code == 403


def test_revoked_key_refuses_new_sessions(make_agency, login, client, widget_session):
    a = make_agency()
    admin, _ = login(a.admin)
    second = admin.post("/api/v1/widget-keys/", {"name": "landing"}, format="json").json()
    assert widget_session(client, second["key"]).status_code == 201
    assert admin.delete(f"/api/v1/widget-keys/{second['id']}/").status_code == 204
    refused = widget_session(client, second["key"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "invalid_key"
    # The other key keeps working.
    assert widget_session(client, a.key.key).status_code == 201


def test_another_agency_keys_and_origins_are_404(two_agencies, login):
    from tenancy.models import AllowedOrigin

    a, b = two_agencies
    admin_a, _ = login(a.admin)
    with scopes_disabled():
        origin_b = AllowedOrigin.objects.filter(agency=b.agency).first()
    assert admin_a.delete(f"/api/v1/widget-keys/{b.key.id}/").status_code == 404
    assert admin_a.delete(f"/api/v1/origins/{origin_b.id}/").status_code == 404
    with scopes_disabled():
        b.key.refresh_from_db()
        assert b.key.revoked_at is None and AllowedOrigin.objects.filter(id=origin_b.id).exists()


def test_plugin_zip_carries_key_and_server(make_agency, role_matrix, login, settings):
    settings.PUBLIC_BASE_URL = "https://chat.agencia.example"
    a = make_agency()
    answers = role_matrix(a, "admin", lambda c, role: c.get(f"/api/v1/widget/wordpress-plugin.zip?key={a.key.key}"))
    response = answers["admin"]
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert "markezy/markezy.php" in archive.namelist()
    main = archive.read("markezy/markezy.php").decode()
    assert "Plugin Name:" in main
    assert f"'{a.key.key}'" in main and "'https://chat.agencia.example'" in main
    assert "{{MARKEZY" not in main
