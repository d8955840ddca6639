"""Logo checks by content (issue 11): PNG, JPEG and WebP only, never SVG."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings

from tenancy.logos import InvalidLogo, check_logo


def _image(fmt: str, size=(16, 16)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats(fmt):
    assert check_logo(_image(fmt)) == fmt


@pytest.mark.parametrize("data,code", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_type"),
    (_image("GIF"), "unsupported_type"),
    (_image("BMP"), "unsupported_type"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "invalid_image"),
    (b"\xff\xd8\xff" + b"<script>", "invalid_image"),
    (b"RIFF\x00\x00\x00\x00WEBPjunk", "invalid_image"),
    (_image("PNG")[:40], "invalid_image"),  # truncated
])
def test_refused(data, code):
    with pytest.raises(InvalidLogo) as excinfo:
        check_logo(data)
    assert excinfo.value.code == code


def test_size_limit():
    data = _image("PNG")
    with override_settings(LOGO_MAX_BYTES=len(data) - 1), pytest.raises(InvalidLogo) as excinfo:
        check_logo(data)
    assert excinfo.value.code == "file_too_large"
    with override_settings(LOGO_MAX_BYTES=len(data)):
        assert check_logo(data) == "PNG"


def test_too_many_pixels_is_refused():
    with pytest.raises(InvalidLogo):
        check_logo(_image("PNG", size=(5000, 4000)))
