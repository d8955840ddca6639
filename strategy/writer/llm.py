"""Write a strategy with the LLM, check it, and fall back to the template writer.

The lead must always get a strategy: the LLM gets `max_attempts` tries (the
second one told what QA rejected), and then the offline writer, which cannot
fail, takes over. The offline draft is computed first because it is cheap and
doubles as the `scripted` answer the offline provider returns, so a
deployment without an LLM goes through exactly the same path.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from strategy.writer.formatting import coerce_budget
from strategy.writer.offline import write_strategy_offline
from strategy.writer.prompt import build_strategy_messages, retry_message
from strategy.writer.quality import check_strategy
from strategy.writer.schema import STRATEGY_SCHEMA
from strategy.writer.templates import TEMPLATE_VERSION, get_template

if TYPE_CHECKING:
    from chat.llm.base import LLMProvider, Usage

logger = logging.getLogger(__name__)


def _default_unavailable_errors() -> tuple[type[Exception], ...]:
    # Imported lazily: the writer must stay importable without the chat app
    # (the PDF benchmark, unit tests).
    from chat.llm.base import LLMUnavailable

    return (LLMUnavailable,)


async def write_strategy(
    *,
    provider: LLMProvider,
    answers: dict,
    agency_name: str,
    knowledge: list[dict],
    services: list[str] | None = None,
    max_attempts: int = 2,
    unavailable_errors: tuple[type[Exception], ...] | None = None,
) -> tuple[dict, dict]:
    """(strategy, meta); meta = {"writer": "llm"|"offline", "attempts", "qa_failures", "template_version",
    "usage"}. `attempts` counts calls to the provider; `qa_failures` lists every rejected attempt's
    reasons, provider errors included."""
    errors = unavailable_errors if unavailable_errors is not None else _default_unavailable_errors()
    draft = write_strategy_offline(answers=answers, agency_name=agency_name, knowledge=knowledge,
                                   services=services)
    budget = coerce_budget(answers.get("budget_monthly"))
    allowed = {(str(chunk.get("document_id")), chunk.get("index")) for chunk in knowledge}
    messages = build_strategy_messages(answers=answers, agency_name=agency_name,
                                       template=get_template(answers.get("sector")), knowledge=knowledge)
    meta: dict = {"writer": "offline", "attempts": 0, "qa_failures": [], "template_version": TEMPLATE_VERSION,
                  "usage": None}

    for _ in range(max_attempts):
        meta["attempts"] += 1
        try:
            value, usage = await provider.complete_json(messages=messages, schema=STRATEGY_SCHEMA,
                                                        schema_name="strategy", scripted=draft)
        except errors as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            meta["qa_failures"].append([f"provider: {reason}"])
            logger.warning("strategy LLM attempt %d failed: %s", meta["attempts"], reason)
            continue
        _add_usage(meta, usage)
        if value == draft:
            # The offline provider answered with the scripted draft.
            return draft, meta
        reasons = check_strategy(value, budget=budget, allowed_citations=allowed)
        if not reasons:
            meta["writer"] = "llm"
            return value, meta
        meta["qa_failures"].append(reasons)
        logger.info("strategy LLM attempt %d rejected by QA: %s", meta["attempts"], "; ".join(reasons))
        messages = [
            *messages,
            {"role": "assistant", "content": json.dumps(value, ensure_ascii=False)},
            retry_message(reasons),
        ]
    return draft, meta


def _add_usage(meta: dict, usage: Usage | None) -> None:
    if usage is None:
        return
    total = meta["usage"] or {"prompt_tokens": 0, "completion_tokens": 0, "model": ""}
    total["prompt_tokens"] += usage.prompt_tokens
    total["completion_tokens"] += usage.completion_tokens
    total["model"] = usage.model or total["model"]
    meta["usage"] = total
