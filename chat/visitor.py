"""Signed, expiring visitor tokens: bound to agency + conversation + visitor."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

from tenancy.actors import VisitorActor

_SALT = "markezy.visitor.v1"


def visitor_token_issue(*, agency_id, conversation_id, visitor_id) -> str:
    payload = {"a": str(agency_id), "c": str(conversation_id), "v": str(visitor_id)}
    return signing.dumps(payload, salt=_SALT, compress=False)


def visitor_token_verify(token: str) -> VisitorActor | None:
    """The visitor the token names, or None when it is forged, malformed or expired."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.VISITOR_TOKEN_TTL.total_seconds())
        return VisitorActor(
            agency_id=uuid.UUID(payload["a"]),
            conversation_id=uuid.UUID(payload["c"]),
            visitor_id=uuid.UUID(payload["v"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
