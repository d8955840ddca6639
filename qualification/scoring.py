"""Lead score 0–100 from per-agency weights, with the reasons behind it.

Four factors, each scored 0..1 and weighted: budget (bands), timeline (how
soon), fit (sector and goals against what the agency serves), completeness
(optional answers given). Deterministic: the same answers and weights give
the same score and reasons, which `rebuild_leads` relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_WEIGHTS = {"budget": 35, "timeline": 20, "fit": 25, "completeness": 20}
_BUDGET_BANDS = [(3000, 1.0, "3.000 € o más al mes"), (1500, 0.8, "entre 1.500 y 3.000 € al mes"),
                 (800, 0.6, "entre 800 y 1.500 € al mes"), (300, 0.35, "entre 300 y 800 € al mes"),
                 (0, 0.1, "menos de 300 € al mes")]
_TIMELINE = {"inmediato": (1.0, "quiere empezar cuanto antes", "wants to start right away"),
             "1_3_meses": (0.75, "empezaría en 1-3 meses", "would start in 1-3 months"),
             "3_6_meses": (0.45, "empezaría en 3-6 meses", "would start in 3-6 months"),
             "mas_adelante": (0.15, "sin fecha de inicio cercana", "no near start date")}
OPTIONAL_FIELDS = ("website", "phone")


def _sector_labels() -> dict[str, dict]:
    """The default flow's sector names, so reasons read "Servicios locales", not a code."""
    import json
    from functools import lru_cache
    from pathlib import Path

    @lru_cache(maxsize=1)
    def load() -> dict[str, dict]:
        flow = json.loads((Path(__file__).with_name("default_flow.json")).read_text(encoding="utf-8"))
        sector = next((q for q in flow.get("questions", []) if q.get("field") == "sector"), {})
        return {c["value"]: c.get("label") or {} for c in sector.get("choices", [])}

    return load()


def _sector_label(value: str | None, locale: str) -> str:
    if not value:
        return "desconocido" if locale == "es" else "unknown"
    return (_sector_labels().get(value) or {}).get(locale) or value.replace("_", " ")


@dataclass(frozen=True)
class ScoreResult:
    score: int
    reasons: list[dict]


def score_band(score: int | None) -> str:
    if score is None:
        return "cold"
    return "hot" if score >= 70 else "warm" if score >= 40 else "cold"


def _weights(weights: dict | None) -> dict[str, float]:
    merged = {**DEFAULT_WEIGHTS, **{k: v for k, v in (weights or {}).items() if k in DEFAULT_WEIGHTS}}
    total = sum(max(float(v), 0.0) for v in merged.values()) or 1.0
    return {k: max(float(v), 0.0) * 100 / total for k, v in merged.items()}


def score_lead(answers: dict, *, weights: dict | None = None, settings: dict | None = None) -> ScoreResult:
    settings = settings or {}
    w = _weights(weights)
    reasons = []

    budget = answers.get("budget_monthly")
    if isinstance(budget, (int, float)):
        ratio, label = next((r, lbl) for floor, r, lbl in _BUDGET_BANDS if budget >= floor)
        reasons.append(_reason("budget", ratio, w, f"Presupuesto de {label}.", f"Budget: {budget:,.0f} €/month."))
    else:
        reasons.append(_reason("budget", 0.0, w, "Sin presupuesto indicado.", "No budget given."))

    timeline = answers.get("timeline")
    ratio, es, en = _TIMELINE.get(timeline, (0.3, "plazo no indicado", "timeline not given"))
    reasons.append(_reason("timeline", ratio, w, f"El lead {es}." if timeline else "Plazo no indicado.", f"The lead {en}."))

    preferred = settings.get("preferred_sectors") or []
    sector = answers.get("sector")
    sector_fit = 1.0 if not preferred or sector in preferred else 0.3
    goals = answers.get("goals") or []
    goals_fit = min(1.0, 0.5 + 0.25 * len(goals)) if goals else 0.3
    ratio = round(0.6 * sector_fit + 0.4 * goals_fit, 4)
    reasons.append(_reason("fit", ratio, w,
                           f"Sector «{_sector_label(sector, 'es')}» {'encaja' if sector_fit == 1.0 else 'encaja poco'} con la agencia; "
                           f"{len(goals)} objetivo(s) claros.",
                           f"Sector '{_sector_label(sector, 'en')}' {'fits' if sector_fit == 1.0 else 'is a weak fit'}; "
                           f"{len(goals)} goal(s)."))

    given = sum(1 for f in OPTIONAL_FIELDS if answers.get(f))
    ratio = given / len(OPTIONAL_FIELDS)
    reasons.append(_reason("completeness", ratio, w, f"Ha dado {given} de {len(OPTIONAL_FIELDS)} datos opcionales (web, teléfono).",
                           f"Gave {given} of {len(OPTIONAL_FIELDS)} optional details."))

    score = int(round(sum(r["points"] for r in reasons)))
    return ScoreResult(max(0, min(100, score)), reasons)


def _reason(factor: str, ratio: float, weights: dict, es: str, en: str) -> dict:
    maximum = round(weights[factor], 2)
    return {"factor": factor, "points": round(ratio * weights[factor], 2), "max": maximum, "reason_es": es, "reason_en": en}
