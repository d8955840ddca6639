import pytest

from tenancy.origins import InvalidOrigin, normalize_origin, origin_allowed, origin_matches


@pytest.mark.parametrize(
    ("origin", "pattern", "expected"),
    [
        ("https://cliente.example", "https://cliente.example", True),
        ("http://cliente.example", "https://cliente.example", False),
        ("https://cliente.example:8443", "https://cliente.example", False),
        ("https://cliente.example:443", "https://cliente.example", True),
        ("https://shop.cliente.example", "https://*.cliente.example", True),
        ("https://a.b.cliente.example", "https://*.cliente.example", True),
        ("https://cliente.example", "https://*.cliente.example", False),
        ("https://cliente.example.evil.test", "https://*.cliente.example", False),
        ("https://evilcliente.example", "https://*.cliente.example", False),
        ("http://shop.cliente.example", "https://*.cliente.example", False),
        ("http://localhost:8000", "http://localhost:8000", True),
        ("http://localhost:8001", "http://localhost:8000", False),
        ("null", "https://cliente.example", False),
        ("", "https://cliente.example", False),
    ],
)
def test_origin_matching(origin, pattern, expected):
    assert origin_matches(origin, pattern) is expected


def test_origin_allowed_any():
    assert origin_allowed("https://b.example", ["https://a.example", "https://b.example"])
    assert not origin_allowed(None, ["https://a.example"])


@pytest.mark.parametrize("bad", ["*", "https://a.com/path", "ftp://a.com", "a.com", "http://*.a.com", "https://*.com",
                                 "https://user:pw@a.com", "https://a.com#x", "https://exa mple.com"])
def test_invalid_patterns(bad):
    with pytest.raises(InvalidOrigin):
        normalize_origin(bad)


def test_normalisation():
    assert normalize_origin("HTTPS://Shop.Example.COM:443/") == "https://shop.example.com"
    assert normalize_origin("http://localhost:8000") == "http://localhost:8000"
    assert normalize_origin("https://*.Example.com") == "https://*.example.com"
