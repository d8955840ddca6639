"""Allowed-origin rules (CONTRACT §3, §5.1).

An origin is `scheme://host[:port]` with scheme http or https, or
`https://*.example.com`, which matches every subdomain of example.com (not
example.com itself, and never `example.com.evil.test`). Matching compares
scheme, host and the effective port exactly.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_DEFAULT_PORT = {"http": 80, "https": 443}


class InvalidOrigin(ValueError):
    pass


def _split(value: str) -> tuple[str, str, int]:
    parts = urlsplit(value)
    scheme = (parts.scheme or "").lower()
    if scheme not in _DEFAULT_PORT:
        raise InvalidOrigin("El origen debe empezar por http:// o https://.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidOrigin("Un origen no lleva ruta, parámetros ni credenciales: scheme://host[:puerto].")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORT[scheme]
    except ValueError as exc:
        raise InvalidOrigin("Puerto no válido.") from exc
    return scheme, host, port


def normalize_origin(value: str) -> str:
    """Validate and canonicalise an allowed-origin pattern, or raise InvalidOrigin."""
    value = (value or "").strip()
    if not value or value == "*":
        raise InvalidOrigin("Indica un origen concreto (https://tu-web.com); '*' no está permitido.")
    wildcard = "://*." in value
    scheme, host, port = _split(value.replace("://*.", "://", 1) if wildcard else value)
    if wildcard and scheme != "https":
        raise InvalidOrigin("Los comodines solo se permiten con https://*.dominio.")
    if "*" in host or not (_HOST.match(host) or host in ("localhost",) or _is_ip(host)):
        raise InvalidOrigin("El nombre de host no es válido.")
    if wildcard and host.count(".") < 1:
        raise InvalidOrigin("Un comodín necesita un dominio con al menos dos niveles (https://*.ejemplo.com).")
    port_part = "" if port == _DEFAULT_PORT[scheme] else f":{port}"
    return f"{scheme}://{'*.' if wildcard else ''}{host}{port_part}"


def _is_ip(host: str) -> bool:
    return bool(re.match(r"^\d{1,3}(\.\d{1,3}){3}$", host)) or host.startswith("[")


def origin_matches(origin: str | None, pattern: str) -> bool:
    if not origin or origin == "null":
        return False
    try:
        scheme, host, port = _split(origin)
    except InvalidOrigin:
        return False
    if pattern.startswith("https://*."):
        base = pattern[len("https://*.") :]
        base_host, _, base_port = base.partition(":")
        return (
            scheme == "https"
            and host.endswith("." + base_host)
            and port == (int(base_port) if base_port else 443)
        )
    try:
        p_scheme, p_host, p_port = _split(pattern)
    except InvalidOrigin:
        return False
    return (scheme, host, port) == (p_scheme, p_host, p_port)


def origin_allowed(origin: str | None, patterns: list[str]) -> bool:
    return any(origin_matches(origin, p) for p in patterns)


def service_origin(base_url: str) -> str:
    """`scheme://host[:port]` of this service's own base URL (PUBLIC_BASE_URL,
    else the request's): the console's origin, where staff preview the widget."""
    parts = urlsplit(base_url or "")
    if (parts.scheme or "").lower() not in _DEFAULT_PORT or not parts.hostname:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def origin_allowed_for_widget(origin: str | None, patterns: list[str], *, base_url: str) -> bool:
    """An agency's allowed origins, plus this service's own origin.

    The own origin is where the console previews the widget (issue 11): only
    pages this service serves run there, so allowing it lets no other site use
    an agency's key. The Origin header itself is only a browser's promise; a
    client outside a browser can send any, whatever we allow."""
    if origin_allowed(origin, patterns):
        return True
    own = service_origin(base_url)
    return bool(own) and origin_matches(origin, own)
