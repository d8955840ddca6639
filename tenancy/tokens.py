"""Staff JWTs (CONTRACT §2).

The verifier pins the algorithm, the issuer and the token type, and requires
exp/iat/sub/agency/role/jti: `alg: none`, another algorithm (including an
HS/RS confusion), a wrong key, a missing or past `exp` are all rejected.
Access tokens also name their family, so revoking a login (logout, or a
refresh token replayed) invalidates the access tokens it minted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

import jwt
from django.conf import settings
from django.utils import timezone

REQUIRED_CLAIMS = ["exp", "iat", "sub", "agency", "role", "jti", "typ", "fam"]


class InvalidToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TokenClaims:
    sub: uuid.UUID
    agency: uuid.UUID
    role: str
    jti: uuid.UUID
    family: uuid.UUID
    typ: str
    exp: datetime


def encode(*, user_id, agency_id, role: str, family_id, typ: str, jti: uuid.UUID, lifetime) -> tuple[str, datetime]:
    now = timezone.now()
    expires = now + lifetime
    payload = {
        "iss": settings.JWT_ISSUER,
        "sub": str(user_id),
        "agency": str(agency_id),
        "role": role,
        "jti": str(jti),
        "fam": str(family_id),
        "typ": typ,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm=settings.JWT_ALGORITHM), expires


def decode(token: str, *, typ: str) -> TokenClaims:
    if not token or not isinstance(token, str):
        raise InvalidToken("missing token")
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            issuer=settings.JWT_ISSUER,
            options={"require": REQUIRED_CLAIMS, "verify_exp": True, "verify_iat": True},
            leeway=0,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if payload.get("typ") != typ:
        raise InvalidToken("wrong token type")
    try:
        return TokenClaims(
            sub=uuid.UUID(payload["sub"]),
            agency=uuid.UUID(payload["agency"]),
            role=str(payload["role"]),
            jti=uuid.UUID(payload["jti"]),
            family=uuid.UUID(payload["fam"]),
            typ=payload["typ"],
            exp=datetime.fromtimestamp(payload["exp"], tz=dt_timezone.utc),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidToken("malformed claims") from exc
