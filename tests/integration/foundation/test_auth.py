"""Staff authentication (CONTRACT §2): every JWT attack is a 401, refresh
rotation with reuse detection, logout, roles and throttling."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=False)


def _claims(user, agency, **overrides):
    now = int(time.time())
    claims = {
        "iss": settings.JWT_ISSUER, "sub": str(user.id), "agency": str(agency.id), "role": "owner",
        "jti": str(uuid.uuid4()), "fam": str(uuid.uuid4()), "typ": "access", "iat": now, "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _get_me(api, token):
    return api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_login_returns_pair_and_me_works(make_agency, api):
    a = make_agency("Alfa")
    response = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": a.password}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "agency"}
    assert body["agency"] == str(a.agency.id)
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "agency", "role", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 15 * 60
    refresh_claims = jwt.decode(body["refresh"], options={"verify_signature": False})
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600
    me = _get_me(api, body["access"])
    assert me.status_code == 200
    assert me.json()["role"] == "owner"


def test_wrong_password_is_401_with_envelope(make_agency, api):
    a = make_agency()
    response = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": "nope-nope-nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "attack",
    ["alg_none", "wrong_key", "hs_rs_confusion", "missing_exp", "expired", "other_agency", "refresh_as_access",
     "garbage", "tampered_payload", "unknown_alg_hs512"],
)
def test_jwt_attacks_are_401(two_agencies, api, attack):
    a, b = two_agencies
    user = a.owner
    if attack == "alg_none":
        token = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(user, a.agency)) + "."
    elif attack == "wrong_key":
        token = jwt.encode(_claims(user, a.agency), "not-the-key", algorithm="HS256")
    elif attack == "hs_rs_confusion":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode(_claims(user, a.agency), private, algorithm="RS256")
    elif attack == "missing_exp":
        token = jwt.encode(_claims(user, a.agency, exp=None), settings.JWT_SIGNING_KEY, algorithm="HS256")
    elif attack == "expired":
        past = int(time.time()) - 10
        token = jwt.encode(_claims(user, a.agency, exp=past, iat=past - 900), settings.JWT_SIGNING_KEY, algorithm="HS256")
    elif attack == "other_agency":
        # Correctly signed, but A's owner is not a member of B.
        token = jwt.encode(_claims(user, b.agency), settings.JWT_SIGNING_KEY, algorithm="HS256")
    elif attack == "refresh_as_access":
        token = jwt.encode(_claims(user, a.agency, typ="refresh"), settings.JWT_SIGNING_KEY, algorithm="HS256")
    elif attack == "garbage":
        token = "not.a.jwt"
    elif attack == "tampered_payload":
        good = jwt.encode(_claims(user, a.agency, role="viewer"), settings.JWT_SIGNING_KEY, algorithm="HS256")
        header, _, signature = good.split(".")
        token = f"{header}.{_b64(_claims(user, a.agency, role='owner'))}.{signature}"
    else:
        token = jwt.encode(_claims(user, a.agency), settings.JWT_SIGNING_KEY, algorithm="HS512")
    response = _get_me(api, token)
    assert response.status_code == 401, attack
    assert response.json()["error"]["code"] == "unauthenticated"


def test_hs_rs_confusion_with_public_key_as_secret_is_401(make_agency, api):
    """The classic confusion: an RS public key used as an HMAC secret."""
    a = make_agency()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64(_claims(a.owner, a.agency))
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()).rstrip(b"=")
    assert _get_me(api, f"{header}.{payload}.{sig.decode()}").status_code == 401


def test_missing_and_malformed_authorization(api, db):
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION="Token abc").status_code == 401
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer").status_code == 401


def test_refresh_rotates_and_reuse_revokes_family(make_agency, api, login):
    a = make_agency()
    _, first = login(a.owner)
    rotated = api.post("/api/v1/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh"] != first["refresh"]
    assert _get_me(api, second["access"]).status_code == 200

    # The spent refresh token again: the whole family is revoked.
    replay = api.post("/api/v1/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert replay.status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refresh": second["refresh"]}, format="json").status_code == 401
    assert _get_me(api, second["access"]).status_code == 401
    assert _get_me(api, first["access"]).status_code == 401


def test_logout_revokes_family(make_agency, api, login):
    a = make_agency()
    client, tokens = login(a.agent)
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert _get_me(api, tokens["access"]).status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_removed_member_loses_access_at_once(make_agency, api, login):
    from django_scopes import scopes_disabled

    from tenancy.models import Membership

    a = make_agency()
    _, tokens = login(a.agent)
    with scopes_disabled():
        Membership.objects.filter(user=a.agent).delete()
    assert _get_me(api, tokens["access"]).status_code == 401


def test_login_throttled_per_account(make_agency, api):
    a = make_agency()
    for _ in range(settings.LOGIN_FAILURES_PER_MINUTE):
        r = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": "wrong-wrong"}, format="json")
        assert r.status_code == 401
    blocked = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": a.password}, format="json")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"


def test_login_throttled_per_ip_across_accounts(make_agency, api):
    a = make_agency()
    for i in range(settings.LOGIN_FAILURES_PER_MINUTE):
        api.post("/api/v1/auth/token", {"email": f"nobody{i}@example.com", "password": "x" * 12}, format="json")
    blocked = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": a.password}, format="json")
    assert blocked.status_code == 429


def test_spoofed_forwarded_for_does_not_reset_ip_limit(make_agency, api):
    a = make_agency()
    for i in range(settings.LOGIN_FAILURES_PER_MINUTE):
        api.post("/api/v1/auth/token", {"email": f"x{i}@example.com", "password": "x" * 12}, format="json",
                 HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    blocked = api.post("/api/v1/auth/token", {"email": a.owner.email, "password": a.password}, format="json",
                       HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert blocked.status_code == 429


def test_login_into_named_agency(make_agency, api):
    from tenancy.services import membership_add

    a, b = make_agency("Alfa"), make_agency("Beta")
    membership_add(agency=b.agency, user=a.agent, role="viewer")
    r = api.post("/api/v1/auth/token", {"email": a.agent.email, "password": a.password, "agency": str(b.agency.id)}, format="json")
    assert r.status_code == 200
    assert r.json()["agency"] == str(b.agency.id)
    assert jwt.decode(r.json()["access"], options={"verify_signature": False})["role"] == "viewer"
