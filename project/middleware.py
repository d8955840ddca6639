"""Request-scoped plumbing: request id, metrics, security headers."""

from __future__ import annotations

import re
import time
import uuid

import structlog

from project import metrics
from project.logging import request_id_var

_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-ID (from the proxy) or makes one, binds it
    to the logging context and echoes it back; Celery tasks inherit it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match and match.route else "unmatched"
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response


# Console and API: only our own origin (the sockets included).
_CSP_DEFAULT = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI's page bootstraps itself with an inline script (drf-spectacular's template).
_CSP_DOCS = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    """CSP for the console and API docs; the widget script and its API are
    embedded by other sites, so they get CORS (per agency) but no CSP of ours."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path
        if path.startswith("/api/docs"):
            response.setdefault("Content-Security-Policy", _CSP_DOCS)
        elif not path.startswith("/widget/") and not path.startswith("/api/v1/widget/"):
            response.setdefault("Content-Security-Policy", _CSP_DEFAULT)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
