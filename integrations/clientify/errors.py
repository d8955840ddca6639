"""Errors raised by the Clientify client.

The split that matters to callers is *retry or not*: a Celery task retries a
``ClientifyTransientError`` (honouring ``retry_after``) and gives up at once on a
``ClientifyPermanentError``, surfacing it to the agency instead.
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ClientifyAuthError",
    "ClientifyError",
    "ClientifyNotFound",
    "ClientifyPermanentError",
    "ClientifyRateLimited",
    "ClientifyTransientError",
    "parse_retry_after",
]


class ClientifyError(Exception):
    """Base of every error the client raises.

    ``status`` is the HTTP status when Clientify answered at all, ``detail`` a
    human-readable reason (Clientify's own ``detail`` when it sent one).
    """

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail if status is None else f"{status}: {detail}")
        self.detail = detail
        self.status = status


class ClientifyPermanentError(ClientifyError):
    """Sending the same request again cannot succeed (validation, bad token, ...).

    ``fields`` holds DRF-style field errors (``{"email": ["Enter a valid email address."]}``)
    when Clientify rejected the body.
    """

    def __init__(
        self, detail: str, *, status: int | None = None, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(detail, status=status)
        self.fields = fields or {}


class ClientifyAuthError(ClientifyPermanentError):
    """The API token is missing, wrong or revoked (401/403): the agency must reconnect."""


class ClientifyNotFound(ClientifyPermanentError):
    """The object does not exist (404)."""


class ClientifyTransientError(ClientifyError):
    """Clientify was unreachable, slow or failing; the same request may succeed later.

    ``outcome_unknown`` is true when a write may have been applied before the
    failure (the request was sent, no answer came back). Callers must look the
    object up before creating it again, or they duplicate it.
    """

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(detail, status=status)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class ClientifyRateLimited(ClientifyTransientError):
    """429: Clientify throttled the account; wait ``retry_after`` seconds when given."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (RFC 9110 §10.2.3).

    Accepts both forms, delta-seconds and an HTTP date; a date in the past means
    "now" (0). Anything unparseable yields ``None`` so the caller falls back to
    its own backoff instead of trusting garbage.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 850 / asctime forms carry no zone: they are GMT.
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


def error_detail(body: Any) -> tuple[str, dict[str, list[str]]]:
    """Turn a DRF error body into ``(detail, field_errors)``.

    Clientify answers ``{"detail": "..."}`` for request-level errors and
    ``{"field": ["message", ...]}`` for validation errors; both are kept so the
    console can show the agency exactly which mapped field Clientify refused.
    """
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"], {}
        fields: dict[str, list[str]] = {}
        for key, messages in body.items():
            if isinstance(messages, list):
                fields[str(key)] = [m if isinstance(m, str) else repr(m) for m in messages]
            else:
                fields[str(key)] = [str(messages)]
        summary = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in fields.items())
        return summary or "Clientify rejected the request.", fields
    if isinstance(body, list) and all(isinstance(m, str) for m in body):
        return " ".join(body) or "Clientify rejected the request.", {}
    text = str(body).strip()
    return (text[:500] if text else "Clientify rejected the request."), {}
