"""CONTRACT §5.2 on MariaDB, over a known set of conversations: two that
never get past consent, one that declines, one that stops at the budget, two
that qualify (and get their strategies), and LLM turns with known tokens and
latencies on known local days — for two agencies that never see each
other's numbers."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

from tests.integration.leads import SCRIPT, open_conversation, say
from tests.integration.strategy.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

MADRID = ZoneInfo("Europe/Madrid")
STEPS = ["name", "company", "sector", "platform", "website", "goals", "audience", "channels", "budget_monthly",
         "timeline", "email", "phone"]


def _lead(conversation):
    from qualification.models import Lead

    with scopes_disabled():
        return Lead.objects.get(conversation=conversation)


def _assistant_turn(conversation, *, at: datetime, prompt: int, completion: int, ttft: int, duration: int, seq: int):
    from chat.models import Turn

    with scopes_disabled():
        Turn.objects.create(agency_id=conversation.agency_id, conversation=conversation, seq=seq, role="assistant",
                            text="respuesta", provider="openai", prompt_tokens=prompt, completion_tokens=completion,
                            first_token_ms=ttft, duration_ms=duration, created=at)


def _wait_strategies(leads):
    from strategy.models import Strategy

    def ready():
        with scopes_disabled():
            return Strategy.objects.filter(lead__in=leads, status="ready").exclude(agency_notified_at=None).count() == len(leads)

    wait_until(ready, timeout=90)


@pytest.fixture
def dataset(two_agencies):
    a, b = two_agencies
    today = datetime.now(MADRID).date()
    d1, d2 = today - timedelta(days=2), today - timedelta(days=1)
    c1, _ = open_conversation(a.agency)                           # opened the widget, said nothing
    c2, v2 = open_conversation(a.agency)
    say(v2, "hola")                                          # never answered the consent question
    c3, v3 = open_conversation(a.agency)
    say(v3, "No, gracias")                                   # declined
    c4, v4 = open_conversation(a.agency)
    say(v4, "Sí, acepto", "Me llamo Luis", "Taller Luis", "Servicios locales", "no tengo", "captar clientes",
         "vecinos", "redes sociales")                         # stops at the budget question
    c5, v5 = open_conversation(a.agency)
    say(v5, *SCRIPT)
    c6, v6 = open_conversation(a.agency)
    say(v6, *[("unos 5.000 € al mes" if text.startswith("unos 2.000") else text) for text in SCRIPT])
    leads = [_lead(c5), _lead(c6)]
    assert [lead.status for lead in leads] == ["qualified", "qualified"]
    _wait_strategies(leads)
    # Known times to qualify: 10 and 20 minutes.
    from qualification.models import Lead

    with scopes_disabled():
        for lead, minutes in zip(leads, (10, 20), strict=True):
            Lead.objects.filter(id=lead.id).update(qualified_at=lead.created + timedelta(minutes=minutes))
    # LLM turns: three on d1 (local noon), two on d2 — one at 00:30 Madrid, which is still d1 in UTC.
    noon1 = datetime.combine(d1, time(12), MADRID)
    _assistant_turn(c5, at=noon1, prompt=100, completion=50, ttft=200, duration=1000, seq=1001)
    _assistant_turn(c5, at=noon1 + timedelta(minutes=1), prompt=200, completion=80, ttft=400, duration=3000, seq=1002)
    _assistant_turn(c5, at=noon1 + timedelta(minutes=2), prompt=300, completion=20, ttft=300, duration=2000, seq=1003)
    _assistant_turn(c6, at=datetime.combine(d2, time(12), MADRID), prompt=1000, completion=500, ttft=250,
                    duration=1500, seq=1001)
    _assistant_turn(c6, at=datetime.combine(d2, time(0, 30), MADRID), prompt=500, completion=100, ttft=100,
                    duration=500, seq=1002)
    # Agency B: one qualified lead with a huge bill A must never see.
    cb, vb = open_conversation(b.agency)
    say(vb, *SCRIPT)
    _wait_strategies([_lead(cb)])
    _assistant_turn(cb, at=noon1, prompt=99_999, completion=99_999, ttft=9_999, duration=99_999, seq=1001)
    return {"a": a, "b": b, "d1": d1, "d2": d2, "today": today, "leads": leads, "c4": c4,
            "conversations": [c1, c2, c3, c4, c5, c6]}


def _get(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_funnel_counts_every_stage_and_drop_off(dataset, login):
    client, _ = login(dataset["a"].viewer)
    data = _get(client, "/api/v1/analytics/funnel", **{"from": dataset["d1"].isoformat(), "to": dataset["today"].isoformat()})
    stages = {s["stage"]: s["count"] for s in data["stages"]}
    expected_steps = {f"step:{s}": (2 if s in ("platform", "timeline", "email", "phone") else 3) for s in STEPS}
    assert stages == {"sessions": 6, "conversations": 5, "consented": 3, **expected_steps, "qualified": 2,
                      "strategy_ready": 2, "crm_synced": 0}
    assert [s["stage"] for s in data["stages"]][3:-3] == [f"step:{s}" for s in STEPS]  # the flow's order
    drop = {d["step"]: (d["reached"], d["dropped"], d["rate"]) for d in data["drop_off"]}
    assert drop["consent"] == (6, 2, round(2 / 6, 4))
    assert drop["budget_monthly"] == (3, 1, round(1 / 3, 4))
    assert all(drop[s][1] == 0 for s in STEPS if s != "budget_monthly")
    assert data["range"] == {"from": dataset["d1"].isoformat(), "to": dataset["today"].isoformat(),
                             "timezone": "Europe/Madrid", "flow_version": None, "page": None}
    # Agency B's numbers are its own.
    client_b, _ = login(dataset["b"].viewer)
    stages_b = {s["stage"]: s["count"] for s in _get(client_b, "/api/v1/analytics/funnel")["stages"]}
    assert stages_b["sessions"] == 1 and stages_b["qualified"] == 1
    # A range before anything happened is empty; a flow version nobody used too.
    past = _get(client, "/api/v1/analytics/funnel", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert all(s["count"] == 0 for s in past["stages"])
    assert _get(client, "/api/v1/analytics/funnel", flow_version=99)["stages"][0]["count"] == 0
    assert _get(client, "/api/v1/analytics/funnel", flow_version=1)["stages"][0]["count"] == 6


def test_quality_distribution_bands_timeline_and_median(dataset, login):
    client, _ = login(dataset["a"].viewer)
    data = _get(client, "/api/v1/analytics/quality")
    scores = sorted(lead.score for lead in (_refresh(lead) for lead in dataset["leads"]))
    assert data["qualified"] == 2
    assert data["average_score"] == round(sum(scores) / 2, 2)
    buckets = {(b["from"], b["to"]): b["count"] for b in data["score_distribution"]}
    assert sum(buckets.values()) == 2 and len(buckets) == 10
    for score in scores:
        low = min(score // 10 * 10, 90)
        assert buckets[(low, 100 if low == 90 else low + 9)] >= 1
    assert data["by_sector"] == [{"sector": "ecommerce", "count": 2}]
    bands = {b["band"]: b["count"] for b in data["by_budget_band"]}
    assert bands == {"<500": 0, "500-999": 0, "1000-2999": 1, "3000-9999": 1, "10000+": 0}
    assert data["by_timeline"] == [{"timeline": "inmediato", "count": 2}]
    assert data["median_seconds_to_qualify"] == 600.0  # nearest rank of [600, 1200]


def _refresh(lead):
    from qualification.models import Lead

    with scopes_disabled():
        return Lead.objects.get(id=lead.id)


def test_usage_tokens_cost_and_latency_percentiles_per_local_day(dataset, login, settings):
    settings.OPENAI_MODEL = "gpt-4o-mini"
    client, _ = login(dataset["a"].viewer)
    data = _get(client, "/api/v1/analytics/usage", **{"from": dataset["d1"].isoformat(), "to": dataset["today"].isoformat()})
    days = {d["date"]: d for d in data["days"]}
    assert set(days) == {dataset["d1"].isoformat(), dataset["d2"].isoformat()}
    d1, d2 = days[dataset["d1"].isoformat()], days[dataset["d2"].isoformat()]
    assert (d1["turns"], d1["prompt_tokens"], d1["completion_tokens"]) == (3, 600, 150)
    assert d1["first_token_ms"] == {"p50": 300.0, "p95": 400.0} and d1["turn_ms"] == {"p50": 2000.0, "p95": 3000.0}
    assert (d2["turns"], d2["prompt_tokens"], d2["completion_tokens"]) == (2, 1500, 600)
    assert d2["first_token_ms"] == {"p50": 100.0, "p95": 250.0} and d2["turn_ms"] == {"p50": 500.0, "p95": 1500.0}
    assert d1["cost"] == round((600 * 0.15 + 150 * 0.60) / 1e6, 6)
    total = round((2100 * 0.15 + 750 * 0.60) / 1e6, 6)
    assert data["totals"] == {"prompt_tokens": 2100, "completion_tokens": 750, "cost": total, "leads": 2,
                              "cost_per_lead": round(total / 2, 6)}
    c5, c6 = (str(lead.id) for lead in dataset["leads"])
    assert [(p["lead"], p["prompt_tokens"], p["completion_tokens"]) for p in data["per_lead"]] == [
        (c6, 1500, 600), (c5, 600, 150)]
    assert data["currency"] == "USD" and data["prices_per_million"]["model"] == "gpt-4o-mini"


def test_csv_is_the_json_flattened(dataset, login):
    from analytics.api import flatten

    client, _ = login(dataset["a"].viewer)
    for name in ("funnel", "quality", "usage"):
        as_json = _get(client, f"/api/v1/analytics/{name}")
        response = client.get(f"/api/v1/analytics/{name}", {"format": "csv"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == ["path", "value"]
        assert rows[1:] == [[path, "" if value is None else str(value)] for path, value in flatten(as_json)]


def test_source_page_filter_and_the_pages_of_the_range(dataset, login):
    from chat.models import Conversation

    c1, c2, c3, c4, c5, c6 = dataset["conversations"]
    with scopes_disabled():
        Conversation.objects.filter(id__in=[c1.id, c2.id, c3.id, c6.id]).update(page_url="https://a.example/")
        Conversation.objects.filter(id=c4.id).update(page_url="https://a.example/precios?utm_source=ads")
        Conversation.objects.filter(id=c5.id).update(page_url="https://a.example/precios#form")
    client, _ = login(dataset["a"].viewer)
    span = {"from": dataset["d1"].isoformat(), "to": dataset["today"].isoformat()}
    data = _get(client, "/api/v1/analytics/funnel", **span, page="https://a.example/precios")
    stages = {s["stage"]: s["count"] for s in data["stages"]}
    assert (stages["sessions"], stages["conversations"], stages["consented"], stages["qualified"]) == (2, 2, 2, 1)
    assert data["range"]["page"] == "https://a.example/precios"
    # The choices ignore the filter itself; query strings and fragments are not pages of their own.
    assert data["pages"] == [{"page": "https://a.example/", "conversations": 4},
                             {"page": "https://a.example/precios", "conversations": 2}]
    quality = _get(client, "/api/v1/analytics/quality", **span, page="https://a.example/precios")
    assert quality["qualified"] == 1
    usage = _get(client, "/api/v1/analytics/usage", **span, page="https://a.example/precios")
    assert [(d["turns"], d["prompt_tokens"], d["completion_tokens"]) for d in usage["days"]] == [(3, 600, 150)]
    # A prefix, not a pattern: "_" and "%" are themselves.
    for literal in ("https://a.example/precio_", "https://a.example/%"):
        assert _get(client, "/api/v1/analytics/funnel", **span, page=literal)["stages"][0]["count"] == 0
    # Agency B's pages are not A's.
    client_b, _ = login(dataset["b"].viewer)
    assert _get(client_b, "/api/v1/analytics/funnel", **span, page="https://a.example/")["stages"][0]["count"] == 0


def test_roles_and_bad_parameters(dataset, login):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/analytics/funnel").status_code == 401
    client, _ = login(dataset["a"].viewer)
    for params, field in (({"from": "ayer"}, "from"), ({"flow_version": "x"}, "flow_version"),
                          ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
                          ({"from": "2020-01-01", "to": "2026-01-01"}, "to"), ({"page": "x" * 501}, "page")):
        response = client.get("/api/v1/analytics/quality", params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["fields"]
