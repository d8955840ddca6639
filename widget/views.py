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
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from project.files import file_response

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


@lru_cache(maxsize=2)
def _bundle(file: str) -> bytes:
    # Content-hashed, so never stale; every visitor of every site asks for it.
    return (DIST / file).read_bytes()


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
    response = HttpResponse(_bundle(info["file"]), content_type="text/javascript; charset=utf-8")
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
    response = file_response(default_storage.open(path, "rb"), content_type=CONTENT_TYPES[name.rsplit(".", 1)[1]])
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


_PREVIEW_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; "
                "style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


@require_GET
@xframe_options_sameorigin
def preview_page(request):
    """The console's widget previews, on this service's own origin and framed by
    its own pages only. Two kinds (issue 11):

    - `?key=`: onboarding's test chat, the agency's published flow through one
      of its keys. Its conversations keep this origin, so they never count as
      the widget installed on the agency's site.
    - no key: the flow editor's draft preview; the widget runs the preview
      session the console put in the URL fragment (`data-preview`), which never
      reaches a server.
    """
    from django.utils.html import escape

    from tenancy.selectors import widget_key_resolve

    lang = "en" if request.GET.get("lang") == "en" else "es"
    title = "Preview" if lang == "en" else "Vista previa"
    if "key" in request.GET:
        widget_key = widget_key_resolve(request.GET["key"])
        if widget_key is None:
            raise Http404("Unknown or revoked widget key")
        title = f"{title} · {escape(widget_key.agency.name)}"
        script = f'<script src="/widget/v1/markezy.js" data-key="{escape(widget_key.key)}" data-inline async></script>'
    else:
        script = '<script src="/widget/v1/markezy.js" data-preview data-inline async></script>'
    html = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{title}</title>
<style>html,body{{margin:0;height:100%;background:#f1f5f9;font:15px system-ui,sans-serif;color:#334155}}
.site{{padding:20px 24px}}.bar{{height:12px;border-radius:6px;background:#e2e8f0;margin:10px 0}}
.bar.short{{width:40%}}.bar.mid{{width:65%}}</style></head>
<body><div class="site" aria-hidden="true"><div class="bar mid"></div><div class="bar"></div><div class="bar short"></div></div>
{script}
</body></html>"""
    response = HttpResponse(html)
    response["Content-Security-Policy"] = _PREVIEW_CSP
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
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
