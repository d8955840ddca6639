"""One mapping from domain and framework errors to the error envelope of
CONTRACT §5: `{"error": {"code", "message", "fields"?}}` with the right status."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django_scopes.exceptions import ScopeError

import structlog

log = structlog.get_logger(__name__)


class ApplicationError(Exception):
    """A domain error a service raises; transport code turns it into the envelope."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields


class NotFound(ApplicationError):
    """Missing, or another tenant's: the same answer for both (STYLE.md §1)."""

    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class Forbidden(ApplicationError):
    status = 403
    code = "forbidden"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class Gone(ApplicationError):
    status = 410
    code = "gone"


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str = "Too many requests.", *, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def envelope(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(envelope(code, message, fields), status=status)


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, (list, tuple)):
                out[key] = [str(v) if not isinstance(v, dict) else _flatten(v) for v in value]
            elif isinstance(value, dict):
                out[key] = _flatten(value)
            else:
                out[key] = [str(value)]
        return out
    return {"non_field_errors": [str(d) for d in detail]} if isinstance(detail, list) else {}


def _first_message(fields: dict, prefix: str = "") -> str:
    """'Invalid branding.primary_color: …' for nested serializers too."""
    first = next(iter(fields.items()), None)
    if not first or not first[1]:
        return "Invalid input."
    name, value = first
    if isinstance(value, dict):
        return _first_message(value, f"{prefix}{name}.")
    head = value[0]
    if isinstance(head, dict):
        return _first_message(head, f"{prefix}{name}.")
    return f"Invalid {prefix}{name}: {head}"


_CODES = {
    "NotAuthenticated": "unauthenticated",
    "AuthenticationFailed": "unauthenticated",
    "PermissionDenied": "forbidden",
    "NotFound": "not_found",
    "MethodNotAllowed": "method_not_allowed",
    "NotAcceptable": "not_acceptable",
    "UnsupportedMediaType": "unsupported_media_type",
    "Throttled": "rate_limited",
    "ParseError": "bad_request",
}


def exception_handler(exc, context):
    # Imported here: domain modules import this file, and DRF's views import
    # the DRF settings that name this handler.
    from rest_framework import exceptions as drf
    from rest_framework.response import Response
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        response = Response(envelope(exc.code, exc.message, exc.fields), status=exc.status)
        if isinstance(exc, RateLimited) and exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        return Response(envelope("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(envelope("forbidden", "You may not do this."), status=403)
    if isinstance(exc, ScopeError):
        # An unscoped query is a bug, never a tenant leak: fail closed.
        log.error("unscoped_query", error=str(exc))
        return Response(envelope("server_error", "Internal error."), status=500)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        message = _first_message(fields)
        response.data = envelope("validation_error", message, fields)
        return response
    code = next((_CODES[k.__name__] for k in type(exc).__mro__ if k.__name__ in _CODES), "error")
    detail = getattr(exc, "detail", str(exc))
    response.data = envelope(code, str(detail))
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        response.status_code = 401
    return response
