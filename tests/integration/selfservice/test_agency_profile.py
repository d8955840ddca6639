"""GET|PATCH /api/v1/agency/ (CONTRACT §5.1): name, locale, branding with the
logo upload, privacy policy, scoring weights, notification emails."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db


def _image(fmt: str, size=(64, 32), color=(79, 70, 229)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def _upload(client, data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return client.patch("/api/v1/agency/", {"logo": SimpleUploadedFile(name, data, content_type=content_type)},
                        format="multipart")


def test_role_matrix_get_and_patch(make_agency, role_matrix):
    a = make_agency()
    got = role_matrix(a, "admin", lambda c, role: c.get("/api/v1/agency/"))
    body = got["owner"].json()
    assert body["id"] == str(a.agency.id) and body["name"] == a.agency.name and body["locale"] == "es"
    assert set(body["branding"]) == {"logo_url", "primary_color", "greeting", "position"}
    assert body["privacy_policy"] == {"url": "", "version": "1"}
    assert body["scoring"] == {"budget": 35, "timeline": 20, "fit": 25, "completeness": 20}
    assert body["notification_emails"] == []
    role_matrix(a, "admin", lambda c, role: c.patch("/api/v1/agency/", {"name": f"Agencia {role}"}, format="json"))
    with scopes_disabled():
        a.agency.refresh_from_db()
    assert a.agency.name == "Agencia owner"


def test_patch_updates_every_section_and_is_audited(make_agency, login):
    from tenancy.models import AuditLog

    a = make_agency()
    admin, _ = login(a.admin)
    response = admin.patch("/api/v1/agency/", {
        "name": "Sol Marketing", "locale": "en",
        "branding": {"primary_color": "#0EA5E9", "greeting": "¡Hola! Cuéntanos tu proyecto", "position": "left"},
        "privacy_policy": {"url": "https://sol.example/privacidad", "version": "2025-01"},
        "scoring": {"budget": 50, "fit": 10},
        "notification_emails": ["ventas@sol.example", "ana@sol.example"],
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Sol Marketing" and body["locale"] == "en"
    assert body["branding"]["primary_color"] == "#0EA5E9" and body["branding"]["position"] == "left"
    assert body["branding"]["greeting"] == "¡Hola! Cuéntanos tu proyecto"
    assert body["privacy_policy"] == {"url": "https://sol.example/privacidad", "version": "2025-01"}
    assert body["scoring"] == {"budget": 50, "timeline": 20, "fit": 10, "completeness": 20}
    assert body["notification_emails"] == ["ventas@sol.example", "ana@sol.example"]
    assert admin.get("/api/v1/agency/").json() == body
    # A partial update leaves the rest alone.
    again = admin.patch("/api/v1/agency/", {"branding": {"greeting": "Hola"}}, format="json").json()
    assert again["branding"]["primary_color"] == "#0EA5E9" and again["branding"]["greeting"] == "Hola"
    with scopes_disabled():
        entries = list(AuditLog.objects.filter(agency=a.agency, action="agency.update").order_by("created"))
    assert entries[0].data["privacy_policy_version"] == {"from": "1", "to": "2025-01"}
    assert entries[0].actor_user_id == a.admin.id


@pytest.mark.parametrize("payload,field", [
    ({"branding": {"primary_color": "blue"}}, "branding"),
    ({"branding": {"primary_color": "#12345"}}, "branding"),
    ({"branding": {"position": "top"}}, "branding"),
    ({"branding": {"logo": "https://evil.test/x.svg"}}, "branding"),
    ({"privacy_policy": {"url": "javascript:alert(1)"}}, "privacy_policy"),
    ({"privacy_policy": {"version": ""}}, "privacy_policy"),
    ({"scoring": {"budget": -1}}, "scoring"),
    ({"scoring": {"budget": 101}}, "scoring"),
    ({"scoring": {"karma": 10}}, "scoring"),
    ({"scoring": {"budget": 0, "timeline": 0, "fit": 0, "completeness": 0}}, "scoring"),
    ({"notification_emails": ["no-es-un-email"]}, "notification_emails"),
    ({"locale": "fr"}, "locale"),
    ({"name": ""}, "name"),
])
def test_invalid_values_are_400_naming_the_field(make_agency, login, payload, field):
    a = make_agency()
    admin, _ = login(a.admin)
    before = admin.get("/api/v1/agency/").json()
    response = admin.patch("/api/v1/agency/", payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert admin.get("/api/v1/agency/").json() == before


@pytest.mark.parametrize("fmt,ext,ctype", [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"),
                                            ("WEBP", "webp", "image/webp")])
def test_logo_upload_is_served_and_in_the_widget_config(make_agency, login, client, widget_session, fmt, ext, ctype):
    a = make_agency()
    admin, _ = login(a.admin)
    data = _image(fmt)
    # The declared name and type do not matter: the content decides.
    response = _upload(admin, data, name="logo.bin", content_type="application/octet-stream")
    assert response.status_code == 200, response.content
    logo_url = response.json()["branding"]["logo_url"]
    assert logo_url.startswith("/widget/logos/") and logo_url.endswith(f".{ext}")
    served = client.get(logo_url)
    assert served.status_code == 200 and served["Content-Type"] == ctype
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served.content == data
    session = widget_session(client, a.key.key)
    assert session.status_code == 201
    config = session.json()["config"]
    assert config["logo_url"] == f"http://testserver{logo_url}"
    # Removing it.
    removed = admin.patch("/api/v1/agency/", {"branding": {"logo": None}}, format="json")
    assert removed.status_code == 200 and removed.json()["branding"]["logo_url"] is None


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize("data,name,ctype", [
    (SVG, "logo.svg", "image/svg+xml"),
    (SVG, "logo.png", "image/png"),  # an SVG renamed as PNG
    (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "logo.png", "image/png"),  # only the magic bytes
    (b"GIF89a" + b"\x00" * 40, "logo.gif", "image/gif"),
    (b"%PDF-1.7 hello", "logo.pdf", "application/pdf"),
])
def test_logo_wrong_type_is_400_naming_logo(make_agency, login, data, name, ctype):
    a = make_agency()
    admin, _ = login(a.admin)
    response = _upload(admin, data, name=name, content_type=ctype)
    assert response.status_code == 400, response.content
    assert "logo" in response.json()["error"]["fields"]
    assert admin.get("/api/v1/agency/").json()["branding"]["logo_url"] is None


def test_logo_over_one_megabyte_is_400(make_agency, login):
    import os

    from PIL import Image

    a = make_agency()
    admin, _ = login(a.admin)
    # Noise does not compress: a real PNG just over 1 MB.
    image = Image.frombytes("RGB", (640, 600), os.urandom(640 * 600 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    assert len(data) > 1024 * 1024
    response = _upload(admin, data)
    assert response.status_code == 400 and "logo" in response.json()["error"]["fields"]
    assert "KB" in response.json()["error"]["fields"]["logo"][0]


def test_multipart_without_the_file_is_400(make_agency, login):
    a = make_agency()
    admin, _ = login(a.admin)
    response = admin.patch("/api/v1/agency/", {"name": "x"}, format="multipart")
    assert response.status_code == 400 and "logo" in response.json()["error"]["fields"]


def test_branding_reaches_the_widget_config(make_agency, login, client, widget_session):
    a = make_agency()
    admin, _ = login(a.admin)
    admin.patch("/api/v1/agency/", {"branding": {"primary_color": "#112233", "greeting": "Buenas", "position": "left"},
                                    "privacy_policy": {"url": "https://a.example/priv", "version": "7"}}, format="json")
    config = widget_session(client, a.key.key).json()["config"]
    assert config["primary_color"] == "#112233" and config["greeting"] == "Buenas" and config["position"] == "left"
    assert config["privacy_policy"] == {"url": "https://a.example/priv", "version": "7"}


def test_scoring_weights_are_used_when_qualifying(make_agency, login):
    from qualification.scoring import score_lead

    a = make_agency()
    admin, _ = login(a.admin)
    admin.patch("/api/v1/agency/", {"scoring": {"budget": 100, "timeline": 0, "fit": 0, "completeness": 0}}, format="json")
    with scopes_disabled():
        a.agency.refresh_from_db()
    weights = a.agency.setting("scoring")
    rich = score_lead({"budget_monthly": 5000, "timeline": "mas_adelante"}, weights=weights)
    poor = score_lead({"budget_monthly": 100, "timeline": "inmediato"}, weights=weights)
    assert rich.score == 100 and poor.score < 20
