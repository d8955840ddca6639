"""The staff console: a static React build served under /console/."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from project.files import file_response

DIST = Path(settings.BASE_DIR) / "console" / "dist"


@require_GET
def console_asset(request, path: str = ""):
    target = (DIST / path).resolve() if path else None
    if target is not None and target.is_file() and DIST.resolve() in target.parents:
        content_type, _ = mimetypes.guess_type(str(target))
        response = file_response(open(target, "rb"), content_type=content_type or "application/octet-stream")
        if "/assets/" in f"/{path}":
            response["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    index = DIST / "index.html"
    if not index.exists():
        raise Http404("The console is not built: run scripts/bootstrap.sh")
    # Client-side routes all get the app shell.
    response = HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
