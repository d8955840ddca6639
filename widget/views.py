"""Serving the widget bundle, the WordPress plugin, and a demo page.

`/widget/v1/markezy.js` is the stable URL sites embed; it redirects (short
cache) to `/widget/v1/markezy.<hash>.js`, which never changes and is cached
for a year. A new release is picked up by sites within minutes.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

DIST = Path(settings.BASE_DIR) / "widget" / "dist"
PLUGIN_DIR = Path(settings.BASE_DIR) / "widget" / "wordpress" / "markezy"


@lru_cache(maxsize=1)
def _manifest_cached(mtime: float) -> dict:
    return json.loads((DIST / "manifest.json").read_text())


def manifest() -> dict:
    path = DIST / "manifest.json"
    if not path.exists():
        raise Http404("The widget is not built: run scripts/bootstrap.sh")
    return _manifest_cached(path.stat().st_mtime)


@require_GET
def widget_script(request):
    response = HttpResponseRedirect(f"/widget/v1/markezy.{manifest()['hash']}.js")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def widget_script_versioned(request, digest: str):
    info = manifest()
    if digest != info["hash"]:
        raise Http404("Unknown widget version")
    response = FileResponse(open(DIST / info["file"], "rb"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def plugin_zip(*, key: str, server: str) -> bytes:
    """The WordPress plugin as a zip, pre-filled with the key and server URL."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PLUGIN_DIR.rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix in (".php", ".txt", ".md"):
                data = data.replace(b"{{MARKEZY_KEY}}", key.encode()).replace(b"{{MARKEZY_SERVER}}", server.encode())
            archive.writestr(f"markezy/{path.relative_to(PLUGIN_DIR)}", data)
    return buffer.getvalue()


@require_GET
def agency_logo(request, name: str):
    """An agency's logo, public like the widget that shows it. Named by its
    content hash, so it is immutable; served with the type its checked
    content has and nosniff, never as anything a browser would run."""
    from django.core.files.storage import default_storage

    from tenancy.logos import CONTENT_TYPES

    path = f"logos/{name}"
    if not default_storage.exists(path):
        raise Http404("Unknown logo")
    response = FileResponse(default_storage.open(path, "rb"), content_type=CONTENT_TYPES[name.rsplit(".", 1)[1]])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@require_GET
def demo_page(request):
    """A page that embeds the widget the way a customer's site does (development aid)."""
    from django_scopes import scopes_disabled

    from tenancy.models import Agency, WidgetKey

    with scopes_disabled():
        agency = Agency.objects.filter(slug="agencia-demo").first()
        key = WidgetKey.objects.filter(agency=agency, revoked_at__isnull=True).order_by("created").first() if agency else None
    if key is None:
        raise Http404("Run `manage.py seed_demo` first.")
    html = f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo · {agency.name}</title></head>
<body style="font-family:system-ui;margin:0;padding:48px;background:#f8fafc;color:#0f172a">
<h1>Panadería Sol — web de ejemplo</h1>
<p>Esta página incrusta el widget de Markezy como lo haría la web de un cliente de la agencia.</p>
<script src="/widget/v1/markezy.js" data-key="{key.key}" async></script>
</body></html>"""
    return HttpResponse(html)


@xframe_options_sameorigin
@require_GET
def preview_page(request):
    """The console's flow preview: a blank page of this service that runs the
    widget on a preview session (`data-preview`: the session is in the URL
    fragment, which never reaches a server). Framed only by our own pages."""
    lang = "en" if request.GET.get("lang") == "en" else "es"
    html = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Markezy preview</title></head>
<body style="margin:0;background:#f1f5f9">
<script src="/widget/v1/markezy.js" data-preview data-inline async></script>
</body></html>"""
    response = HttpResponse(html)
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- The WordPress plugin, pre-filled (CONTRACT §5.1) -------------------------------

from drf_spectacular.types import OpenApiTypes  # noqa: E402
from drf_spectacular.utils import OpenApiParameter, extend_schema  # noqa: E402

from project.api.views import AgencyAPIView  # noqa: E402
from tenancy.permissions import role_required  # noqa: E402


class WordPressPluginApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(parameters=[OpenApiParameter("key", str, description="One of the agency's widget keys")],
                   responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request):
        from tenancy.selectors import widget_keys_list

        wanted = request.query_params.get("key")
        keys = {k.key for k in widget_keys_list(self.actor)}
        key = wanted if wanted in keys else ""
        server = (settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")).rstrip("/")
        response = HttpResponse(plugin_zip(key=key, server=server), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="markezy-wordpress-plugin.zip"'
        return response
