"""Agency logos: checked by content, never by name or declared type.

Only PNG, JPEG and WebP. SVG is refused on purpose: it is a document that can
carry script and external references, shown in the widget on customers' sites
and embedded in strategy PDFs. Stored under a content hash, so a logo URL
never changes meaning and can be cached for a year.
"""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
CONTENT_TYPES = {ext: ctype for ext, ctype in FORMATS.values()}
_MAX_PIXELS = 4096 * 4096


class InvalidLogo(ValueError):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_logo(data: bytes) -> str:
    """The image's format (PNG/JPEG/WEBP), or InvalidLogo: too large, another
    type, or bytes that only start like an image."""
    if len(data) > settings.LOGO_MAX_BYTES:
        raise InvalidLogo(f"El logo pesa más de {settings.LOGO_MAX_BYTES // 1024} KB.", "file_too_large")
    declared = _sniff(data)
    if declared is None:
        raise InvalidLogo("El logo debe ser una imagen PNG, JPEG o WebP.", "unsupported_type")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != declared or image.width * image.height > _MAX_PIXELS:
                raise InvalidLogo("El logo no es una imagen válida o es demasiado grande.", "invalid_image")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidLogo("El logo no es una imagen válida.", "invalid_image") from None
    return declared


def logo_store(data: bytes) -> str:
    """Store checked logo bytes; returns the storage path `logos/<sha256>.<ext>`."""
    ext = FORMATS[check_logo(data)][0]
    path = f"logos/{hashlib.sha256(data).hexdigest()}.{ext}"
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    return path
