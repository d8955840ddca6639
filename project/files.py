"""Serving a stored file's bytes.

Under ASGI, Django cannot stream a FileResponse's synchronous iterator: it
reads every chunk into memory first, on a thread of its own, and warns on
each request. The files served here are small (a strategy PDF, a logo, a
widget or console build file), so the view reads them itself, in the
request's own thread, closes them at once, and answers one plain response.
"""

from __future__ import annotations

from django.http import HttpResponse


def file_response(opened, *, content_type: str) -> HttpResponse:
    """`opened`: a binary file object (from open() or a storage); it is closed here."""
    with opened as handle:
        return HttpResponse(handle.read(), content_type=content_type)
