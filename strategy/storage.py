"""Where strategy PDFs live: the default storage, under a path per agency.

Names are derived from ids, never from user input, so a redelivered task
overwrites the same file instead of leaving a second copy behind."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def strategy_pdf_name(*, agency_id, strategy_id) -> str:
    return f"strategies/{agency_id}/{strategy_id}.pdf"


def pdf_store(*, name: str, data: bytes) -> str:
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def pdf_open(name: str):
    return default_storage.open(name, "rb")


def pdf_delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)
