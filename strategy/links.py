"""Signed, expiring links to a strategy's PDF (CONTRACT §3.1 `pdf_url`).

The link is what the lead gets in the widget and the email, so it must work
without a login, for one strategy only, and stop working after a while. A
Django signature over (strategy, agency) with a timestamp does all three
with no table to keep.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing

_SALT = "markezy.strategy.pdf"


def _ttl() -> timedelta:
    return timedelta(days=getattr(settings, "STRATEGY_PDF_LINK_TTL_DAYS", 30))


def strategy_pdf_token(*, strategy_id, agency_id) -> str:
    return signing.dumps({"s": str(strategy_id), "a": str(agency_id)}, salt=_SALT, compress=True)


def strategy_pdf_token_valid(token: str, *, strategy_id) -> str | None:
    """The agency id the token was issued for, if it is genuine, unexpired and
    names this strategy; None otherwise."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=_ttl())
    except signing.BadSignature:  # SignatureExpired is a subclass
        return None
    if not isinstance(data, dict) or data.get("s") != str(strategy_id):
        return None
    return data.get("a")


def public_base(server_base: str = "") -> str:
    """Where links to this service point: the configured public URL, else the
    base the widget used to reach us, else the development default."""
    return (settings.PUBLIC_BASE_URL or server_base or "http://localhost:8000").rstrip("/")


def strategy_pdf_url(*, strategy_id, agency_id, server_base: str = "") -> str:
    query = urlencode({"token": strategy_pdf_token(strategy_id=strategy_id, agency_id=agency_id)})
    return f"{public_base(server_base)}/api/v1/strategies/{strategy_id}/pdf?{query}"
