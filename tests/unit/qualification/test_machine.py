"""The qualification state machine as pure functions: paths, skips, branches,
edits, consent and scoring."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualification import machine
from qualification.flows import load_default_flow, validate_flow
from qualification.scoring import score_band, score_lead

FLOW = load_default_flow()
SETTINGS = {"self_serve_budget_threshold": 500}


def test_default_flow_is_valid_and_has_contract_fields():
    assert validate_flow(FLOW) == []
    fields = [q["field"] for q in FLOW["questions"]]
    for required in ("consent", "name", "company", "sector", "website", "goals", "audience", "channels",
                     "budget_monthly", "timeline", "email", "phone"):
        assert required in fields


def test_broken_flows_report_paths():
    flow = load_default_flow()
    flow["questions"][2]["prompt"] = {}
    assert validate_flow(flow)[0].path == "questions/2/prompt"
    flow = load_default_flow()
    flow["questions"].append({"field": "name", "type": "text", "prompt": {"es": "x"}})
    assert any(e.path.endswith("/field") and "repetido" in e.message for e in validate_flow(flow))
    flow = load_default_flow()
    flow["branches"] = [{"after": "email", "when": {"field": "phone", "op": "answered"}, "goto": "sector"}]
    paths = {e.path for e in validate_flow(flow)}
    assert "branches/0/goto" in paths and "branches/0/when/field" in paths


def test_ecommerce_asks_platform_and_other_sectors_skip_it():
    answers = {"consent": True, "name": "A", "company": "B", "sector": "ecommerce"}
    assert machine.next_step(FLOW, answers, settings=SETTINGS) == "platform"
    answers["sector"] = "b2b"
    assert machine.next_step(FLOW, answers, settings=SETTINGS) == "website"


def test_edit_sector_drops_platform():
    answers = {"consent": True, "name": "A", "company": "B", "sector": "ecommerce", "platform": "shopify"}
    transition = machine.apply_answer(FLOW, answers, "sector", "servicios_locales", settings=SETTINGS)
    assert transition.kind == "edit" and transition.dropped == {"platform": "shopify"}
    assert transition.next_step == "website"


def test_low_budget_skips_timeline_and_branches_jump():
    answers = {"consent": True, "name": "A", "company": "B", "sector": "b2b", "website": None, "goals": ["x"],
               "audience": "y", "channels": ["seo"], "budget_monthly": 200}
    assert machine.next_step(FLOW, answers, settings=SETTINGS) == "email"
    assert machine.next_step(FLOW, {**answers, "budget_monthly": 2000}, settings=SETTINGS) == "timeline"
    flow = load_default_flow()
    flow["branches"] = [{"after": "budget_monthly", "when": {"field": "budget_monthly", "op": "gte", "value": 10000},
                         "goto": "email"}]
    assert validate_flow(flow) == []
    big = {**answers, "budget_monthly": 20000}
    assert machine.next_step(flow, big, settings=SETTINGS) == "email"
    assert "timeline" not in machine.path_for(flow, big, settings=SETTINGS)


def test_consent_gate_and_decline():
    assert not machine.can_store("email", {})
    assert machine.can_store("sector", {})
    assert machine.can_store("email", {"consent": True})
    assert machine.next_step(FLOW, {"consent": False}, settings=SETTINGS) == "declined"
    assert machine.check_transition("asking", "consent_declined") == "declined"
    with pytest.raises(machine.InvalidTransition):
        machine.check_transition("declined", "answer")


@given(st.lists(st.sampled_from(["sector", "budget_monthly", "platform", "timeline"]), max_size=12),
       st.lists(st.sampled_from(["ecommerce", "b2b", 100, 5000, "shopify", "inmediato"]), min_size=12, max_size=12))
def test_random_edits_keep_a_consistent_path(fields, values):
    answers = {"consent": True, "name": "A", "company": "B"}
    for field, value in zip(fields, values):
        transition = machine.apply_answer(FLOW, answers, field, value, settings=SETTINGS)
        answers = {**{k: v for k, v in answers.items() if k not in transition.dropped}, field: value}
        answers = {k: v for k, v in answers.items() if k not in transition.dropped}
        path = machine.path_for(FLOW, answers, settings=SETTINGS)
        step = machine.next_step(FLOW, answers, settings=SETTINGS)
        assert step == "done" or step in path
        assert all(k == "consent" or k in path for k in answers)
        assert 0 <= machine.progress(FLOW, answers, settings=SETTINGS) <= 1


def test_scoring_deterministic_with_reasons():
    answers = {"budget_monthly": 2000, "timeline": "inmediato", "sector": "ecommerce", "goals": ["a", "b"],
               "phone": "+34612345678"}
    first = score_lead(answers, weights={"budget": 35, "timeline": 20, "fit": 25, "completeness": 20})
    assert first == score_lead(answers, weights={"budget": 35, "timeline": 20, "fit": 25, "completeness": 20})
    assert 0 <= first.score <= 100 and {r["factor"] for r in first.reasons} == {"budget", "timeline", "fit", "completeness"}
    assert sum(r["max"] for r in first.reasons) == pytest.approx(100)
    low = score_lead({"budget_monthly": 100, "timeline": "mas_adelante"}, weights={})
    assert low.score < first.score and score_band(low.score) == "cold" and score_band(first.score) == "hot"
    doubled = score_lead(answers, weights={"budget": 70, "timeline": 40, "fit": 50, "completeness": 40})
    assert doubled.score == first.score  # weights are normalised
