"""Render a strategy to a branded PDF with WeasyPrint.

Speed: parsing the stylesheet and registering its six web fonts costs more
than laying out a ten-page document, so both live in one process-wide
`FontConfiguration` + `CSS` pair built on first use. Per render, only the
HTML is new, and the agency's colours ride in it as CSS custom properties.

Safety: everything in the strategy may come from an LLM or from the lead, so
the Django template autoescapes it, numbers are formatted here (no template
localisation, so no settings are needed), and the URL fetcher refuses any
resource that is not one of our fonts or an inlined data: URI — a document
cannot make the renderer read a file or call a server.
"""

from __future__ import annotations

import atexit
import base64
import mimetypes
import threading
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.template import Context, Engine

from strategy.pdf.charts import bars_svg, donut_svg
from strategy.pdf.colors import ink, mix, normalize_hex, palette, text_on
from strategy.writer.formatting import coerce_budget, format_eur, format_number
from strategy.writer.schema import SECTIONS
from strategy.writer.templates import get_template

_HERE = Path(__file__).resolve().parent
_TEMPLATES = _HERE / "templates"
_FONTS = _HERE / "fonts"
_LOGO_MAX_BYTES = 2 * 1024 * 1024
_LOGO_TYPES = {"image/png", "image/jpeg", "image/svg+xml", "image/gif", "image/webp"}
_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine() -> Engine:
    # Standalone: independent of settings.TEMPLATES, so no project template
    # can shadow ours and rendering works wherever Django is importable.
    return Engine(dirs=[str(_TEMPLATES)], autoescape=True, debug=False)


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    # Release the fonts while the interpreter is still whole: WeasyPrint's
    # FontConfiguration.__del__ fails noisily if it runs during teardown.
    atexit.register(_stylesheet.cache_clear)
    css = CSS(filename=str(_TEMPLATES / "strategy.css"), font_config=font_config, url_fetcher=_url_fetcher())
    return font_config, css


@lru_cache(maxsize=1)
def _url_fetcher():
    from weasyprint.urls import URLFetcher

    class RestrictedFetcher(URLFetcher):
        """Only our shipped fonts and inlined data: URIs; nothing from the network or the disk."""

        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = Path(url.removeprefix("file://").split("?")[0]).resolve()
                if not path.is_relative_to(_FONTS):
                    raise ValueError(f"file not allowed in a strategy PDF: {url[:80]}")
            return super().fetch(url, headers)

    return RestrictedFetcher(allowed_protocols=("data", "file"), allow_redirects=False)


def _logo_data_uri(logo_path: str | None) -> str | None:
    """The logo inlined as a data: URI, or None when missing, too big or not an image."""
    if not logo_path:
        return None
    path = Path(logo_path)
    mime, _ = mimetypes.guess_type(path.name)
    if mime not in _LOGO_TYPES or not path.is_file() or path.stat().st_size > _LOGO_MAX_BYTES:
        return None
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _spanish_date(moment: datetime) -> str:
    return f"{moment.day} de {_MONTHS[moment.month - 1]} de {moment.year}"


def format_quantity(value: object, unit: str) -> str:
    """A target with its unit, Spanish style: 1500 € · 1,8 % · 4x · 125 citas."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return f"{value} {unit}".strip()
    unit = (unit or "").strip()
    if unit == "€":
        return format_eur(value)
    if unit.lower() == "x":
        return f"{format_number(value)}x"
    return f"{format_number(value)} {unit}".strip()


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _context(*, strategy: dict, lead: dict, agency: dict, generated_at: datetime) -> dict:
    brand = normalize_hex(agency.get("primary_color"))
    template = get_template(lead.get("sector"))
    titles = template.titles
    plan = [item for item in strategy.get("channel_plan") or [] if isinstance(item, dict)]
    amounts = [_number(item.get("monthly_budget")) for item in plan]
    total = sum(amounts)
    budget = coerce_budget(lead.get("budget_monthly"))
    # Shares are recomputed from the amounts so that the chart, the table and
    # the total always agree; without money, the writer's effort split is shown.
    shares = [a / total for a in amounts] if total else [_number(item.get("share")) for item in plan]
    colors = palette(brand, len(plan))
    channels = [
        {"channel": item.get("channel", ""), "rationale": item.get("rationale", ""), "budget": format_eur(amount),
         "share": f"{format_number(round(share * 100, 1))} %", "color": color}
        for item, amount, share, color in zip(plan, amounts, shares, colors, strict=True)
    ]
    money = bool(total)
    display_budget = total if money else (budget or 0.0)
    caption = "Reparto mensual de la inversión" if money else "Reparto orientativo del esfuerzo (sin inversión en medios)"
    return {
        "strategy": strategy,
        "lead": {"company": lead.get("company") or "Tu empresa", "name": lead.get("name") or ""},
        "agency": {"name": agency.get("name") or "", "logo": _logo_data_uri(agency.get("logo_path"))},
        "colors": {"brand": brand, "ink": ink(brand), "soft": mix(brand, "#ffffff", 0.72),
                   "tint": mix(brand, "#ffffff", 0.92), "on_brand": text_on(brand)},
        "sector_label": template.label,
        "titles": titles,
        "sections": [{"id": key, "number": f"{n:02d}", "title": titles[key]} for n, key in enumerate(SECTIONS, 1)],
        "generated_at": _spanish_date(generated_at),
        "figures": {
            "budget": format_eur(display_budget) if display_budget else "A definir",
            "budget_label": "de inversión al mes" if display_budget else "presupuesto de medios",
            "channels": len(plan),
            "total": format_eur(total),
        },
        "objectives": [
            {**objective, "target": format_quantity(objective.get("target"), objective.get("unit", ""))}
            for objective in strategy.get("objectives") or [] if isinstance(objective, dict)
        ],
        "kpis": [
            {**kpi, "target": format_quantity(kpi.get("target"), kpi.get("unit", ""))}
            for kpi in strategy.get("kpis") or [] if isinstance(kpi, dict)
        ],
        "channels": channels,
        "charts": {
            "caption": caption,
            "donut": donut_svg(shares=shares, brand=brand,
                               center_label=format_eur(total) if money else f"{len(plan)} canales",
                               center_caption="al mes" if money else "orgánicos"),
            "bars": bars_svg(rows=[(c["channel"], s, c["budget"] if money else c["share"])
                                   for c, s in zip(channels, shares, strict=True)], brand=brand),
        },
        "citations": [c for c in strategy.get("citations") or [] if isinstance(c, dict) and c.get("quote")],
    }


def render_strategy_html(*, strategy: dict, lead: dict, agency: dict, generated_at: datetime) -> str:
    """The document's HTML (the PDF's source; also handy to preview in a browser)."""
    context = _context(strategy=strategy, lead=lead, agency=agency, generated_at=generated_at)
    return _engine().get_template("strategy.html").render(Context(context))


def render_strategy_pdf(*, strategy: dict, lead: dict, agency: dict, generated_at: datetime) -> bytes:
    """The strategy as PDF bytes. Synchronous and CPU-bound: call it from a worker
    (or `asyncio.to_thread`), never on an event loop."""
    from weasyprint import HTML

    html = render_strategy_html(strategy=strategy, lead=lead, agency=agency, generated_at=generated_at)
    with _lock:
        # One FontConfiguration is shared by every render: WeasyPrint's font
        # registry (fontconfig/Pango) is not safe to use from two threads at once.
        font_config, css = _stylesheet()
        document = HTML(string=html, base_url=str(_TEMPLATES), url_fetcher=_url_fetcher()).render(
            stylesheets=[css], font_config=font_config
        )
        return document.write_pdf()
