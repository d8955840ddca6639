"""QA of a written strategy: what a schema cannot say.

`check_strategy` returns its reasons in plain English: they are fed back to
the LLM on a retry and logged for staff, never shown to the lead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import jsonschema

from strategy.writer.schema import SECTIONS, STRATEGY_SCHEMA

_BUDGET_TOLERANCE = 0.01
# A strategy is mostly prose: a whole document with fewer stopwords than this
# is too thin to send; a section with fewer abstains from the language check.
_MIN_STOPWORDS = 20
_MIN_SECTION_STOPWORDS = 6
_MIN_SPANISH_SHARE = 0.6


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPANISH_STOPWORDS = _words(
    "de la que el en y los del se las por un para con una su al lo como más pero sus le ya o este "
    "porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos durante "
    "todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro otras "
    "otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros "
    "tu tus tú te ti es son está están cada mes meses semana semanas"
)
_ENGLISH_STOPWORDS = _words(
    "the of and to in is that for it as with was on be at by this are from or an but not have has "
    "they which you your we our their will would can could should been were its more also into than "
    "then these those there what when who how all each per month months week weeks"
)
_WORD = re.compile(r"[a-záéíóúüñ]+")


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _is_empty(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value or all(_is_empty(item) for item in (value.values() if isinstance(value, dict) else value))
    return value is None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def spanish_share(text: str) -> tuple[float, int]:
    """(share of Spanish among the Spanish+English stopwords, how many were counted)."""
    words = _WORD.findall(text.lower())
    spanish = sum(word in _SPANISH_STOPWORDS for word in words)
    english = sum(word in _ENGLISH_STOPWORDS for word in words)
    counted = spanish + english
    return (spanish / counted if counted else 0.0), counted


def check_strategy(
    strategy: dict, *, budget: float | None, allowed_citations: set[tuple[str, int]]
) -> list[str]:
    """Why `strategy` cannot be sent to the lead; empty when it can."""
    reasons = [
        f"schema: {error.message} at /{'/'.join(str(part) for part in error.absolute_path)}"
        for error in jsonschema.Draft202012Validator(STRATEGY_SCHEMA).iter_errors(strategy)
    ][:5]
    if not isinstance(strategy, dict):
        return reasons or ["schema: the strategy is not an object"]

    for section in SECTIONS:
        if _is_empty(strategy.get(section)):
            reasons.append(f"section {section} is missing or empty")
    diagnosis = strategy.get("diagnosis")
    if isinstance(diagnosis, dict):
        for part in ("strengths", "opportunities"):
            if _is_empty(diagnosis.get(part)):
                reasons.append(f"section diagnosis.{part} is missing or empty")
    phases = strategy.get("plan_90_days")
    if isinstance(phases, list) and phases and len(phases) != 3:
        reasons.append(f"plan_90_days must have exactly 3 phases, not {len(phases)}")

    channel_plan = strategy.get("channel_plan")
    if isinstance(channel_plan, list) and channel_plan:
        amounts = [item.get("monthly_budget") for item in channel_plan if isinstance(item, dict)]
        if not all(_is_number(amount) and amount >= 0 for amount in amounts):
            reasons.append("every channel_plan.monthly_budget must be a non-negative number")
        else:
            expected = budget or 0.0
            total = sum(amounts)
            if abs(total - expected) > max(_BUDGET_TOLERANCE * expected, 0.005):
                reasons.append(f"channel allocations sum to {total:g} € but the monthly budget is {expected:g} €")

    for kpi in strategy.get("kpis") or []:
        if isinstance(kpi, dict) and not _is_number(kpi.get("target")):
            reasons.append(f"KPI {kpi.get('name')!r} has a non-numeric target")

    for citation in strategy.get("citations") or []:
        if not isinstance(citation, dict):
            continue
        key = (str(citation.get("document_id")), citation.get("index"))
        if key not in allowed_citations:
            reasons.append(f"citation {key[0]}#{key[1]} is not one of the provided documents")

    # Per section, so that one section written in English does not hide behind
    # the Spanish of the others; quotes are the agency's words and are skipped.
    total_counted = 0
    for section in SECTIONS:
        share, counted = spanish_share(" ".join(_texts(strategy.get(section))))
        total_counted += counted
        if counted >= _MIN_SECTION_STOPWORDS and share < _MIN_SPANISH_SHARE:
            reasons.append(f"section {section} is not in Spanish (Spanish stopword share {share:.0%})")
    if total_counted < _MIN_STOPWORDS and not reasons:
        reasons.append("the text is too short to be a strategy")
    return reasons
