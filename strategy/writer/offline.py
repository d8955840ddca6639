"""The template-only strategy writer: no LLM, always available, deterministic.

It is the fallback when the LLM is down or its answer fails QA, and the
writer of a deployment with no LLM at all, so its output has to be a
strategy an agency can send as it is: personalised from the lead's answers,
with a budget split that adds up to the euro and with the agency's own
documents cited where they say something relevant (prices, packages).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from strategy.writer.formatting import coerce_budget, format_eur
from strategy.writer.templates import (
    CHANNELS,
    GOAL_CHANNELS,
    GOAL_LABELS,
    Channel,
    ObjectiveSpec,
    SectorTemplate,
    get_template,
)

# How many channels a budget can sustain: spreading 400 € over five channels
# buys nothing anywhere. (upper bound of the monthly budget, channels)
_CHANNELS_BY_BUDGET: tuple[tuple[float, int], ...] = ((600, 2), (1500, 3), (4000, 4), (math.inf, 5))
_ORGANIC_CHANNELS = 4
_GOAL_BOOST = 1.3
_IN_USE_BOOST = 1.1
# Weight of a channel the lead already works that the sector template does not
# recommend: kept small, to capitalise on what they have learnt without
# diverting the budget.
_IN_USE_EXTRA_WEIGHT = 0.08
_MAX_OBJECTIVES = 3
_MAX_CITATIONS = 6
_QUOTE_MAX = 240

_TIMELINE_TEXT = {
    "inmediato": "Proponemos arrancar este mismo mes",
    "1_3_meses": "Proponemos arrancar en el plazo de uno a tres meses que nos indicas",
    "3_6_meses": "Como prefieres empezar dentro de tres a seis meses, el primer mes puede dedicarse a preparar la base",
    "mas_adelante": "Aunque prefieres empezar más adelante, la fase de cimientos puede avanzarse sin inversión en medios",
}

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def allocate_budget(*, total: float, weights: dict[str, float]) -> dict[str, float]:
    """Split `total` by `weights` in whole euros that add up exactly to it.

    Largest-remainder rounding: every channel gets the floor of its exact
    share, the euros left go to the largest fractional parts, and any cents in
    a non-whole budget go to the largest allocation. Ties break by weight
    order, so the result is deterministic.
    """
    if not weights:
        return {}
    cents_total = round(total * 100)
    euros, cents = divmod(cents_total, 100)
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        weights = dict.fromkeys(weights, 1.0)
        weight_sum = float(len(weights))
    exact = {key: euros * weight / weight_sum for key, weight in weights.items()}
    allocation = {key: math.floor(value) for key, value in exact.items()}
    left = euros - sum(allocation.values())
    order = sorted(weights, key=lambda key: (-(exact[key] - allocation[key]), -weights[key]))
    for key in order[:left]:
        allocation[key] += 1
    result = {key: float(value) for key, value in allocation.items()}
    if cents:
        biggest = max(result, key=lambda key: (result[key], weights[key]))
        result[biggest] = (allocation[biggest] * 100 + cents) / 100
    return result


def write_strategy_offline(
    *,
    answers: dict,
    agency_name: str,
    knowledge: list[dict],
    services: list[str] | None = None,
) -> dict:
    """A complete strategy (valid against STRATEGY_SCHEMA) from the template alone."""
    template = get_template(answers.get("sector"))
    company = _text(answers.get("company")) or "tu empresa"
    budget = coerce_budget(answers.get("budget_monthly"))
    goals = [goal for goal in _as_list(answers.get("goals")) if goal in GOAL_LABELS]
    in_use = [c for c in _as_list(answers.get("channels")) if c in CHANNELS]

    weights, rationales = _channel_weights(template=template, goals=goals, in_use=in_use, budget=budget)
    channel_plan = _channel_plan(weights=weights, rationales=rationales, budget=budget)
    channels = [CHANNELS[key] for key in weights]
    citations = _citations(knowledge=knowledge, channels=channels, services=services or [])

    return {
        "executive_summary": _executive_summary(
            company=company, agency_name=agency_name, goals=goals, budget=budget,
            channel_plan=channel_plan, timeline=_text(answers.get("timeline")),
        ),
        "diagnosis": _diagnosis(template=template, answers=answers, company=company, in_use=in_use,
                                budget=budget),
        "objectives": _objectives(template=template, goals=goals, budget=budget),
        "audience": _audience(template=template, audience=_text(answers.get("audience"))),
        "channel_plan": channel_plan,
        "plan_90_days": _plan(template=template, answers=answers),
        "kpis": [{"name": k.name, "target": k.target, "unit": k.unit, "frequency": k.frequency}
                 for k in template.kpis],
        "next_steps": _next_steps(agency_name=agency_name, channels=channels[:3], services=services or []),
        "citations": citations,
        "language": "es",
    }


def _text(value: object) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else [value]
    seen: dict[str, None] = {}
    for item in items:
        text = str(item).strip().lower()
        if text:
            seen.setdefault(text)
    return list(seen)


def _channel_weights(
    *, template: SectorTemplate, goals: list[str], in_use: list[str], budget: float | None
) -> tuple[dict[str, float], dict[str, str]]:
    """Which channels the plan uses and their relative weights, in plan order."""
    goal_channels = {key for goal in goals for key in GOAL_CHANNELS[goal]}
    scored: dict[str, float] = {}
    rationales: dict[str, str] = {}
    for item in template.channels:
        weight = item.weight
        if item.key in goal_channels:
            weight *= _GOAL_BOOST
        if item.key in in_use:
            weight *= _IN_USE_BOOST
        scored[item.key] = weight
        rationales[item.key] = item.rationale
    for key in in_use:
        if key not in scored:
            scored[key] = _IN_USE_EXTRA_WEIGHT
            rationales[key] = (f"Ya trabajas {CHANNELS[key].label.lower()}: mantenerlo con una dedicación "
                               "ajustada aprovecha lo aprendido sin restar foco a los canales prioritarios.")

    if not budget:
        # No media budget: an organic-first plan, the split being effort, not euros.
        candidates = {k: w for k, w in scored.items() if not CHANNELS[k].paid}
        limit = _ORGANIC_CHANNELS
    else:
        candidates = scored
        limit = next(count for ceiling, count in _CHANNELS_BY_BUDGET if budget < ceiling)
    ranked = sorted(candidates, key=lambda key: -candidates[key])[:limit]
    return {key: candidates[key] for key in ranked}, rationales


def _channel_plan(*, weights: dict[str, float], rationales: dict[str, str], budget: float | None) -> list[dict]:
    total = budget or 0.0
    allocation = allocate_budget(total=total, weights=weights)
    weight_sum = sum(weights.values())
    plan = []
    for key, weight in weights.items():
        share = allocation[key] / total if total else weight / weight_sum
        plan.append({
            "channel": CHANNELS[key].label,
            "rationale": rationales[key],
            "monthly_budget": allocation[key],
            "share": round(share, 4),
        })
    return plan


def _objective_target(spec: ObjectiveSpec, budget: float | None) -> float:
    if spec.per_1000_eur is None or not budget:
        # Without media budget, results come from organic work: a third of the benchmark.
        return spec.target if spec.per_1000_eur is None else max(1, round(spec.target / 3))
    value = budget / 1000 * spec.per_1000_eur
    step = 100 if value >= 5000 else 10 if value >= 500 else 1
    return max(1, round(value / step) * step)


def _objectives(*, template: SectorTemplate, goals: list[str], budget: float | None) -> list[dict]:
    specs = [template.objectives[goal] for goal in goals] or [template.objectives["default"]]
    if len(specs) == 1 and specs[0] is not template.objectives["fidelizar"]:
        # One objective reads thin: retention is worth measuring in every plan.
        specs.append(template.objectives["fidelizar"])
    return [
        {
            "title": spec.title,
            "metric": spec.metric,
            "target": _objective_target(spec, budget),
            "unit": spec.unit,
            "deadline_days": spec.deadline_days,
        }
        for spec in specs[:_MAX_OBJECTIVES]
    ]


def _goals_phrase(goals: list[str]) -> str:
    labels = [GOAL_LABELS[goal] for goal in goals]
    if not labels:
        return "crecer de forma rentable con el marketing digital"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " y " + labels[-1]


def _executive_summary(
    *, company: str, agency_name: str, goals: list[str], budget: float | None,
    channel_plan: list[dict], timeline: str,
) -> str:
    top = [item["channel"] for item in channel_plan[:2]]
    channels_phrase = " y ".join(top)
    if budget:
        investment = (f"Con una inversión de {format_eur(budget)} al mes, repartida en {len(channel_plan)} "
                      f"canales, la prioridad será {channels_phrase}.")
    else:
        investment = (f"Sin presupuesto de medios definido, empezamos por los canales orgánicos, con "
                      f"{channels_phrase} como prioridad, y reservamos la publicidad para cuando los "
                      f"primeros resultados la justifiquen.")
    start = _TIMELINE_TEXT.get(timeline, "Proponemos arrancar cuando nos confirmes")
    return (
        f"{company} quiere {_goals_phrase(goals)}. En {agency_name} hemos preparado este plan para los "
        f"próximos 90 días a partir de lo que nos has contado y de nuestra experiencia con negocios "
        f"como el tuyo. {investment} {start}: el plan se divide en tres fases (cimientos, "
        f"lanzamiento y optimización) con objetivos medibles y un seguimiento semanal de los KPIs."
    )


def _diagnosis(
    *, template: SectorTemplate, answers: dict, company: str, in_use: list[str], budget: float | None
) -> dict:
    website = _text(answers.get("website"))
    strengths: list[str] = []
    opportunities: list[str] = []
    if website:
        strengths.append(f"Ya cuentas con web propia ({website}), la base sobre la que medir y convertir.")
    else:
        opportunities.append("Crear una web o landing propia: sin ella no hay dónde medir ni convertir la "
                             "inversión en anuncios.")
    active = [CHANNELS[key].label for key in in_use]
    if active:
        strengths.append(f"Ya trabajas {', '.join(active)}: hay aprendizajes y datos de los que partir.")
    else:
        opportunities.append("Empezar de cero permite construir la medición bien desde el primer día.")
    platform = _text(answers.get("platform"))
    if platform and platform != "otra":
        strengths.append(f"Tu tienda funciona con {platform.title()}, que se integra de forma nativa con "
                         "Google, Meta y las herramientas de email.")
    strengths.extend(template.strengths)
    opportunities.extend(template.opportunities)

    budget_phrase = (f"un presupuesto de {format_eur(budget)} al mes" if budget
                     else "sin presupuesto de medios definido")
    count = len(active)
    channels_phrase = ("ningún canal de marketing activo" if not count
                       else "un canal activo" if count == 1 else f"{count} canales activos")
    summary = (
        f"{company} opera en {template.sector_phrase}, donde los {template.customer_noun} "
        f"comparan antes de decidir y la confianza pesa tanto como el precio. Punto de partida: "
        f"{budget_phrase} y {channels_phrase}. El diagnóstico apunta a ordenar la medición, concentrar la "
        f"inversión donde el coste por resultado es menor y construir activos propios (web, reseñas, base "
        f"de datos) que abaraten cada cliente."
    )
    return {"summary": summary, "strengths": strengths[:4], "opportunities": opportunities[:4]}


def _audience(*, template: SectorTemplate, audience: str) -> dict:
    if audience:
        description = (f"Tu cliente ideal, en tus palabras: «{audience}». Sobre esa base, estos son los "
                       f"segmentos de {template.customer_noun} a los que se dirige cada canal del plan.")
        segments = [f"Núcleo: {audience}", *template.segments]
    else:
        description = (f"Trabajaremos con los segmentos de {template.customer_noun} que mejor responden en "
                       "tu sector y los afinaremos con los datos de las primeras semanas.")
        segments = list(template.segments)
    return {"description": description, "segments": segments}


def _plan(*, template: SectorTemplate, answers: dict) -> list[dict]:
    phases = [{"name": p.name, "weeks": p.weeks, "actions": list(p.actions)} for p in template.phases]
    if not _text(answers.get("website")):
        phases[0]["actions"].insert(0, "Crear una landing de conversión con formulario y medición.")
    return phases


def _service_for(channel: Channel, services: list[str]) -> str:
    for service in services:
        lowered = service.lower()
        if any(keyword in lowered for keyword in channel.keywords):
            return service
    return channel.default_service


def _next_steps(*, agency_name: str, channels: list[Channel], services: list[str]) -> list[dict]:
    strategy_service = next(
        (s for s in services if any(word in s.lower() for word in ("estrategia", "consultor", "auditor"))),
        "Consultoría estratégica",
    )
    steps = [{
        "action": f"Reunión de arranque con {agency_name} para validar objetivos, presupuesto y accesos.",
        "agency_service": strategy_service,
    }]
    steps.extend(
        {"action": f"Poner en marcha {channel.label} según la fase 1 del plan.",
         "agency_service": _service_for(channel, services)}
        for channel in channels
    )
    steps.append({"action": "Primer informe de resultados y ajuste del reparto a las 4 semanas.",
                  "agency_service": "Informe mensual de resultados"})
    return steps


def _best_sentence(text: str, keywords: tuple[str, ...]) -> str | None:
    """The sentence that mentions a keyword, preferring one with a price."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    matching = [s for s in sentences if any(keyword in s.lower() for keyword in keywords)]
    if not matching:
        return None
    best = next((s for s in matching if "€" in s or "eur" in s.lower()), matching[0])
    return best if len(best) <= _QUOTE_MAX else best[: _QUOTE_MAX - 1].rstrip() + "…"


def _citations(*, knowledge: list[dict], channels: list[Channel], services: list[str]) -> list[dict]:
    """Quote the agency's documents on the channels the plan recommends.

    Keyword matching is enough here: the chunks were already retrieved for this
    lead, and a citation only has to point at a passage that mentions a
    recommended channel or service, ideally with its price.
    """
    needles = [channel.keywords for channel in channels]
    needles.extend((service.lower(),) for service in services)
    citations: list[dict] = []
    seen: set[tuple[str, int]] = set()
    for chunk in knowledge:
        key = (str(chunk.get("document_id", "")), chunk.get("index"))
        text = str(chunk.get("text") or "")
        if not key[0] or not isinstance(key[1], int) or key in seen or not text:
            continue
        for keywords in needles:
            quote = _best_sentence(text, keywords)
            if quote:
                citations.append({"document_id": key[0], "index": key[1], "quote": quote})
                seen.add(key)
                break
        if len(citations) >= _MAX_CITATIONS:
            break
    return citations

