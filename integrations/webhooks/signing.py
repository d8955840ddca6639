'''Signatures of Markezy's outbound webhooks (CONTRACT §7).

Every delivery carries ``Markezy-Signature: t=<unix time>,v1=<hex>``, where the hex
is the HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>.<raw body>"``.
Signing the timestamp with the body stops an old delivery from being replayed;
several ``v1=`` entries may appear while a secret is being rotated, and any one
matching is enough.

This module uses the standard library only, so receivers can copy it. To verify a
delivery in any Python web framework::

    import hashlib, hmac, time

    def markezy_signature_ok(body: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
        """body: the raw request bytes (before any JSON parsing); header: Markezy-Signature."""
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        timestamps = [v for k, v in parts if k.strip() == "t"]
        signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
        if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
            return False
        t = int(timestamps[0])
        if abs(time.time() - t) > tolerance:
            return False
        expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures)
'''

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "Markezy-Signature"

# Five minutes: generous for clock skew and queueing, short for a replay.
DEFAULT_TOLERANCE = 300


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Markezy-Signature`` header value for ``body``, signed now unless ``timestamp`` is given."""
    if not secret:
        raise ValueError("a webhook secret is required")
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(body, secret, t)}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body`` with ``secret``.

    Malformed headers are simply invalid (never an exception): the header comes
    from the network. The comparison is constant-time, and a timestamp further
    than ``tolerance`` seconds from ``now``, in either direction, is rejected.
    """
    if not header or not secret:
        return False
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    # Exactly one timestamp: two would let an attacker pick which one we check.
    if len(timestamps) != 1 or not (timestamps[0].isascii() and timestamps[0].isdigit()) or not signatures:
        return False
    t = int(timestamps[0])
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        return False
    expected = _digest(body, secret, t).encode()
    # No short-circuit: every candidate is compared, so timing reveals nothing. Bytes, not
    # str, because compare_digest refuses non-ASCII text and the header is untrusted.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in signatures]
    return any(matches)


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
