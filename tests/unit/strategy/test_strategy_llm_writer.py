"""`write_strategy`: the LLM's answer when it passes QA, a retry told why, then the offline writer."""

from __future__ import annotations

import copy

import pytest

from chat.llm.base import LLMUnavailable, Usage
from chat.llm.offline import OfflineProvider
from strategy.writer import TEMPLATE_VERSION, write_strategy, write_strategy_offline

ANSWERS = {
    "name": "Íñigo", "company": "Taller Goikoetxea", "sector": "servicios_locales", "website": "",
    "goals": ["captar_leads"], "audience": "Conductores de Getxo", "channels": ["sem"], "budget_monthly": 1200,
    "timeline": "1_3_meses",
}
KNOWLEDGE = [{"document_id": "d-precios", "index": 2, "title": "Precios",
              "text": "La gestión de Google Ads cuesta 300 € al mes."}]


class FakeProvider:
    """Answers each `complete_json` call with the next canned value (raising it if it is an exception)."""

    name = "fake"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[dict] = []

    async def complete_json(self, *, messages, schema, schema_name, scripted=None):
        self.calls.append({"messages": copy.deepcopy(messages), "schema_name": schema_name, "scripted": scripted})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer, Usage(prompt_tokens=1000, completion_tokens=800, model="fake-model")


def llm_strategy() -> dict:
    """A valid strategy that differs from the offline draft, as an LLM would write it."""
    strategy = write_strategy_offline(answers=ANSWERS, agency_name="Agencia Norte", knowledge=KNOWLEDGE)
    strategy["executive_summary"] = ("Taller Goikoetxea puede llenar su agenda con conductores de Getxo si "
                                     "concentra la inversión en Google Ads y en su ficha de Google Maps.")
    return strategy


async def write(provider, **kwargs):
    return await write_strategy(provider=provider, answers=ANSWERS, agency_name="Agencia Norte",
                                knowledge=KNOWLEDGE, **kwargs)


async def test_a_valid_llm_strategy_is_used_as_it_is():
    expected = llm_strategy()
    provider = FakeProvider(expected)
    strategy, meta = await write(provider)
    assert strategy == expected
    assert meta == {"writer": "llm", "attempts": 1, "qa_failures": [], "template_version": TEMPLATE_VERSION,
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 800, "model": "fake-model"}}
    assert provider.calls[0]["schema_name"] == "strategy"


async def test_a_rejected_answer_is_retried_with_the_reasons_then_accepted():
    bad = llm_strategy()
    bad["channel_plan"][0]["monthly_budget"] += 300
    provider = FakeProvider(bad, llm_strategy())
    _, meta = await write(provider)
    assert meta["writer"] == "llm" and meta["attempts"] == 2
    assert meta["qa_failures"] == [["channel allocations sum to 1500 € but the monthly budget is 1200 €"]]
    retry = provider.calls[1]["messages"]
    assert retry[-2]["role"] == "assistant"
    assert "1500 €" in retry[-1]["content"] and retry[-1]["role"] == "user"
    assert meta["usage"]["prompt_tokens"] == 2000


async def test_two_invalid_answers_fall_back_to_the_offline_writer():
    foreign = llm_strategy()
    foreign["citations"] = [{"document_id": "otra-agencia", "index": 0, "quote": "99 €"}]
    provider = FakeProvider({"executive_summary": "hola"}, foreign)
    strategy, meta = await write(provider)
    assert strategy == write_strategy_offline(answers=ANSWERS, agency_name="Agencia Norte", knowledge=KNOWLEDGE)
    assert meta["writer"] == "offline" and meta["attempts"] == 2
    assert any(r.startswith("schema:") for r in meta["qa_failures"][0])
    assert meta["qa_failures"][1] == ["citation otra-agencia#0 is not one of the provided documents"]


async def test_an_unavailable_llm_falls_back_after_max_attempts():
    provider = FakeProvider(LLMUnavailable("timeout"), LLMUnavailable("circuit open"))
    strategy, meta = await write(provider)
    assert meta["writer"] == "offline" and meta["attempts"] == 2
    assert meta["qa_failures"] == [["provider: timeout"], ["provider: circuit open"]]
    assert meta["usage"] is None
    assert strategy["channel_plan"] and sum(c["monthly_budget"] for c in strategy["channel_plan"]) == 1200


async def test_only_the_declared_errors_are_absorbed():
    class Down(Exception):
        pass

    _, meta = await write(FakeProvider(Down("x")), max_attempts=1, unavailable_errors=(Down,))
    assert meta["writer"] == "offline"
    with pytest.raises(KeyError):
        await write(FakeProvider(KeyError("a bug, not an outage")))


async def test_the_offline_provider_returns_the_scripted_draft(settings):
    settings.OFFLINE_TOKENS_PER_SECOND = 0
    strategy, meta = await write(OfflineProvider())
    assert meta["writer"] == "offline" and meta["attempts"] == 1 and meta["qa_failures"] == []
    assert strategy["citations"] == [{"document_id": "d-precios", "index": 2,
                                      "quote": "La gestión de Google Ads cuesta 300 € al mes."}]
