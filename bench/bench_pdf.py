"""Strategy PDF rendering speed: one cold render, then N warm ones in the same process.

    .venv/bin/python bench/bench_pdf.py [--runs 20]

Prints cold time, warm p50/p95 and the page count. A benchmark: it reports
figures and always exits 0 (target: warm p95 ≤ 0.6 s on the 2-core machine).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

ANSWERS = {
    "name": "Begoña Ibáñez", "company": "Hotel Peñíscola Mar", "sector": "hosteleria",
    "website": "https://hotelpeniscolamar.es", "goals": ["reservas", "fidelizar", "notoriedad"],
    "audience": "Parejas y familias de Madrid y Valencia que buscan escapadas junto al mar",
    "channels": ["redes_sociales", "email"], "budget_monthly": 3250, "timeline": "inmediato",
}
KNOWLEDGE = [
    {"document_id": "tarifas", "index": 0, "title": "Tarifas", "text": "La gestión de Google Ads cuesta 350 € al mes."},
    {"document_id": "tarifas", "index": 1, "title": "Tarifas", "text": "SEO local y reseñas desde 290 € al mes."},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    # WeasyPrint logs every layout step at INFO: that is the benchmark's noise, not its subject.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    from pypdf import PdfReader

    from strategy.pdf import render_strategy_pdf
    from strategy.writer import write_strategy_offline

    strategy = write_strategy_offline(answers=ANSWERS, agency_name="Agencia Norte", knowledge=KNOWLEDGE)
    kwargs = {"strategy": strategy, "lead": ANSWERS, "generated_at": datetime.now(UTC),
              "agency": {"name": "Agencia Norte", "primary_color": "#0f766e", "logo_path": None}}

    start = time.perf_counter()
    pdf = render_strategy_pdf(**kwargs)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(max(args.runs, 1)):
        start = time.perf_counter()
        render_strategy_pdf(**kwargs)
        warm.append(time.perf_counter() - start)
    warm.sort()
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"pages: {pages}  size: {len(pdf) / 1024:.0f} KiB  runs: {len(warm)}")
    print(f"cold: {cold:.3f} s  warm p50: {statistics.median(warm):.3f} s  warm p95: {p95:.3f} s")


if __name__ == "__main__":
    main()
