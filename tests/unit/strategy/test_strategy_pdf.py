"""The strategy PDF: content a lead must find in it, pages, branding, safety."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from strategy.pdf import render_strategy_html, render_strategy_pdf
from strategy.writer import get_template, write_strategy_offline
from strategy.writer.formatting import format_eur
from strategy.writer.schema import SECTIONS

GENERATED_AT = datetime(2025, 3, 7, 10, 30, tzinfo=UTC)
KNOWLEDGE = [{"document_id": "d1", "index": 0, "title": "Tarifas",
              "text": "La gestión de Google Ads cuesta 350 € al mes."}]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "pdf"


def lead(**overrides) -> dict:
    return {
        "name": "Begoña Ibáñez", "company": "Hotel Peñíscola Mar", "sector": "hosteleria",
        "website": "https://penisolamar.es", "goals": ["reservas", "fidelizar"],
        "audience": "Parejas y familias de Madrid y Valencia que buscan escapadas junto al mar",
        "channels": ["redes_sociales", "email"], "budget_monthly": 3250, "timeline": "inmediato",
        **overrides,
    }


def render(answers: dict, **agency) -> bytes:
    strategy = write_strategy_offline(answers=answers, agency_name="Agencia Norte", knowledge=KNOWLEDGE)
    return render_strategy_pdf(
        strategy=strategy, lead=answers,
        agency={"name": "Agencia Norte", "primary_color": "#0f766e", "logo_path": None, **agency},
        generated_at=GENERATED_AT,
    )


def text_of(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    # Words hyphenated at a line end (U+2010) are joined back for searching.
    return "\n".join(page.extract_text().replace("\u2010\n", "") for page in reader.pages), len(reader.pages)


@pytest.fixture(scope="module")
def full_pdf() -> bytes:
    return render(lead())


def test_pdf_contains_the_company_sections_euro_and_allocations(full_pdf):
    text, pages = text_of(full_pdf)
    flat = re.sub(r"\s+", " ", text)
    assert pages >= 6
    assert "Hotel Peñíscola Mar" in flat and "€" in flat
    for title in get_template("hosteleria").titles.values():
        assert title in flat, title
    strategy = write_strategy_offline(answers=lead(), agency_name="Agencia Norte", knowledge=KNOWLEDGE)
    for item in strategy["channel_plan"]:
        assert format_eur(item["monthly_budget"]) in flat
    assert "3.250 €" in flat and "7 de marzo de 2025" in flat
    assert "Página 3 de" in flat  # footer counters
    assert "«La gestión de Google Ads cuesta 350 € al mes.»" in flat


def test_table_of_contents_points_at_the_real_pages(full_pdf):
    reader = PdfReader(io.BytesIO(full_pdf))
    toc = reader.pages[1].extract_text()
    numbers = [int(n) for n in re.findall(r"^(\d+)$", toc, re.MULTILINE)]
    titles = [get_template("hosteleria").titles[key] for key in SECTIONS]
    assert len(numbers) == len(titles)
    for title, number in zip(titles, numbers, strict=True):
        assert title in toc
        assert title in reader.pages[number - 1].extract_text().replace("\n", " "), (title, number)


def test_fonts_are_embedded(full_pdf):
    reader = PdfReader(io.BytesIO(full_pdf))
    fonts = {str(font["/BaseFont"]) for page in reader.pages
             for font in (page["/Resources"].get("/Font") or {}).values()
             for font in [font.get_object()]}
    assert any("Inter" in name for name in fonts) and any("Montserrat" in name for name in fonts)


def test_zero_budget_renders_an_effort_split():
    text, pages = text_of(render(lead(budget_monthly=0, sector="otro", goals=[])))
    assert "reparto orientativo del esfuerzo" in text.lower() and "A definir" in text and pages >= 6


def test_brand_colour_and_logo_are_applied_and_hostile_input_is_inert(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
                    '<rect width="120" height="40" fill="#c026d3"/></svg>')
    answers = lead(company='<img src="file:///etc/passwd">Acme</b>')
    strategy = write_strategy_offline(answers=answers, agency_name="Agencia Norte", knowledge=[])
    html = render_strategy_html(
        strategy=strategy, lead=answers,
        agency={"name": "Agencia Norte", "primary_color": "red;} body{display:none", "logo_path": str(logo)},
        generated_at=GENERATED_AT,
    )
    assert '<img src="file:///etc/passwd">' not in html and "&lt;img src=" in html
    assert "--brand: #2b59c3" in html  # an invalid colour falls back to the default
    assert 'src="data:image/svg+xml;base64,' in html
    pdf = render_strategy_pdf(strategy=strategy, lead=answers,
                              agency={"name": "Agencia Norte", "primary_color": "#c026d3", "logo_path": str(logo)},
                              generated_at=GENERATED_AT)
    text, _ = text_of(pdf)
    assert "Acme" in text and "root:" not in text


def test_screenshots_of_every_page(full_pdf, tmp_path):
    """Pages as PNG under var/screenshots/pdf/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("strategy-*.png"):
        old.unlink()
    source = tmp_path / "strategy.pdf"
    source.write_bytes(full_pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(source), str(SCREENSHOTS / "strategy")], check=True)
    assert len(list(SCREENSHOTS.glob("strategy-*.png"))) == text_of(full_pdf)[1]
