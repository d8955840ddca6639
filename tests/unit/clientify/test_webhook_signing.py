"""Outbound webhook signatures (CONTRACT §7) and the receiver snippet we publish."""

import hashlib
import hmac
import re
import time

import pytest

from integrations.webhooks import signing
from integrations.webhooks.signing import sign, verify

BODY = b'{"id":"e1","type":"lead.qualified","data":{"nombre":"Ana"}}'
SECRET = "whsec_test"
T = 1_750_000_000


def test_signature_format_matches_the_contract() -> None:
    header = sign(BODY, SECRET, timestamp=T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_round_trip() -> None:
    assert verify(BODY, sign(BODY, SECRET, timestamp=T), SECRET, now=T + 10)
    assert verify(BODY, sign(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    ("body", "secret"),
    [(BODY.replace(b"Ana", b"Eva"), SECRET), (BODY + b" ", SECRET), (BODY, "another-secret")],
)
def test_tampering_or_a_wrong_secret_is_rejected(body: bytes, secret: str) -> None:
    assert not verify(body, sign(BODY, SECRET, timestamp=T), secret, now=T)


def test_timestamp_is_part_of_the_signature() -> None:
    header = sign(BODY, SECRET, timestamp=T).replace(f"t={T}", f"t={T + 1}")
    assert not verify(BODY, header, SECRET, now=T)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_stale_or_future_timestamps_are_rejected(offset: int) -> None:
    assert not verify(BODY, sign(BODY, SECRET, timestamp=T), SECRET, now=T + offset)
    assert verify(BODY, sign(BODY, SECRET, timestamp=T), SECRET, now=T + offset, tolerance=abs(offset))


def test_any_of_several_signatures_may_match_during_secret_rotation() -> None:
    old = sign(BODY, "old-secret", timestamp=T)
    new_sig = sign(BODY, SECRET, timestamp=T).split("v1=")[1]
    header = f"{old},v1={new_sig}"
    assert verify(BODY, header, SECRET, now=T)
    assert verify(BODY, header, "old-secret", now=T)
    assert not verify(BODY, header, "third-secret", now=T)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={T}",
        f"t=abc,v1={'0' * 64}",
        f"t={T},t={T},v1={'0' * 64}",
        f"t={T},v1=ñandú",
    ],
)
def test_malformed_headers_are_invalid_not_errors(header: str | None) -> None:
    assert not verify(BODY, header, SECRET, now=T)


def test_a_secret_is_required() -> None:
    with pytest.raises(ValueError):
        sign(BODY, "")
    assert not verify(BODY, sign(BODY, SECRET, timestamp=T), "", now=T)


def test_published_receiver_snippet_agrees_with_the_signer() -> None:
    """The module docstring is what the README shows receivers: it must actually work."""
    doc = signing.__doc__ or ""
    snippet = "\n".join(
        line[4:] for line in doc.split("::", 1)[1].splitlines() if line.startswith("    ") or not line.strip()
    )
    namespace: dict[str, object] = {}
    exec(compile(snippet, "<README snippet>", "exec"), namespace)  # noqa: S102 - our own docstring
    check = namespace["markezy_signature_ok"]
    now = int(time.time())
    assert check(BODY, sign(BODY, SECRET, timestamp=now), SECRET)  # type: ignore[operator]
    assert not check(BODY + b"x", sign(BODY, SECRET, timestamp=now), SECRET)  # type: ignore[operator]
    assert not check(BODY, sign(BODY, SECRET, timestamp=now - 3600), SECRET)  # type: ignore[operator]
    assert re.search(r"hmac\.compare_digest", snippet)
