"""The analytics dashboard (/console/analytics) in real Chromium against the
live service, over the known dataset of tests/integration/analytics: what the
screen shows is what the API answers, for each period it is asked."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django_scopes import scopes_disabled

from tests.browser.console_helpers import login as sign_in
from tests.integration.analytics.test_analytics_api import dataset  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.services]

READ_TABLE = """table => Array.from(table.tBodies[0].rows).map(row =>
  Array.from(row.cells).map(cell => cell.dataset.value === undefined ? cell.textContent : cell.dataset.value))"""


def _older(lead, days: int) -> None:
    """Moves a lead's conversation (and the lead) `days` back: a shorter period leaves it out."""
    from chat.models import Conversation
    from qualification.models import Lead

    with scopes_disabled():
        lead = Lead.objects.get(id=lead.id)
        Conversation.objects.filter(id=lead.conversation_id).update(created=lead.created - timedelta(days=days))
        Lead.objects.filter(id=lead.id).update(created=lead.created - timedelta(days=days),
                                               qualified_at=lead.qualified_at - timedelta(days=days))


def _num(value: str):
    return None if value in ("", None) else float(value)


def _expected(client, first: str, last: str, **extra) -> dict:
    """What each table must hold, straight from the API for the same period."""
    params = {"from": first, "to": last, **extra}
    funnel = client.get("/api/v1/analytics/funnel", params).json()
    quality = client.get("/api/v1/analytics/quality", params).json()
    usage = client.get("/api/v1/analytics/usage", params).json()
    count = {s["stage"]: s["count"] for s in funnel["stages"]}
    leads, qualified, sessions = count["conversations"], count["qualified"], count["sessions"]
    stages = funnel["stages"]

    def shares(rows, key):
        total = sum(row["count"] for row in rows)
        return [[row[key], row["count"], row["count"] / total if total else 0] for row in rows]

    return {
        "funnel": [[s["stage"], s["count"], s["count"] / sessions,
                    None if i == 0 or not stages[i - 1]["count"] else s["count"] / stages[i - 1]["count"]]
                   for i, s in enumerate(stages)],
        "drop_off": [[d["step"], d["reached"], d["dropped"], d["rate"]] for d in funnel["drop_off"]],
        "scores": [[f"{b['from']}-{b['to']}", b["count"]] for b in quality["score_distribution"]],
        "sector": shares(quality["by_sector"], "sector"),
        "budget": shares(quality["by_budget_band"], "band"),
        "timeline": shares(quality["by_timeline"], "timeline"),
        "cost": [[d["date"], d["turns"], d["prompt_tokens"], d["completion_tokens"], d["cost"]] for d in usage["days"]],
        "latency": [[d["date"], d["first_token_ms"]["p50"], d["first_token_ms"]["p95"], d["turn_ms"]["p50"],
                     d["turn_ms"]["p95"]] for d in usage["days"]],
        "kpis": {"leads": leads, "qualified": qualified, "rate": qualified / leads if leads else None,
                 "median": quality["median_seconds_to_qualify"], "cost_per_lead": usage["totals"]["cost_per_lead"]},
    }


def _shown(tables: dict, kpis: dict) -> dict:
    """The page's tables and tiles, numbers as numbers (first column as the key it names)."""
    out = {}
    for name, rows in tables.items():
        out[name] = [[row[0], *(_num(cell) for cell in row[1:])] for row in rows]
    out["kpis"] = {key: _num(value) for key, value in kpis.items()}
    return out


def _normalised(expected: dict) -> dict:
    return {name: ({k: (None if v is None else float(v)) for k, v in rows.items()} if name == "kpis"
                   else [[row[0], *(None if v is None else float(v) for v in row[1:])] for row in rows])
            for name, rows in expected.items()}


def test_dashboard_shows_the_api_numbers_for_each_period_in_both_languages(
        web_pool, transactional_db, dataset, login, in_browser, screenshots):  # noqa: F811
    server = web_pool(0)
    a = dataset["a"]
    # The second qualified lead arrived 20 days ago: the last 7 days leave it out.
    _older(dataset["leads"][1], 20)
    # Two conversations started on the prices page (one with a campaign's query string).
    from chat.models import Conversation

    c4, c5 = dataset["conversations"][3:5]
    with scopes_disabled():
        Conversation.objects.filter(id=c4.id).update(page_url="https://a.example/precios?utm_source=ads")
        Conversation.objects.filter(id=c5.id).update(page_url="https://a.example/precios")
    client, _ = login(a.viewer)
    d2, today = dataset["d2"].isoformat(), dataset["today"].isoformat()

    def scenario(browser):
        page = browser.new_page(viewport={"width": 1280, "height": 900}, reduced_motion="reduce", accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        chart_requests: list[str] = []
        page.on("request", lambda r: chart_requests.append(r.url) if "/assets/Analytics" in r.url else None)
        sign_in(page, server.base_url, a.viewer, a.password)
        # The conversations screen never downloads the charting library.
        on_conversations = list(chart_requests)
        page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Analítica").click()
        page.wait_for_url("**/console/analytics")
        page.get_by_role("heading", name="Analítica", exact=True).wait_for()

        def settled(prev_range: str | None = None) -> str:
            page.locator("[data-range]").wait_for()
            if prev_range:
                page.wait_for_function(
                    "prev => { const el = document.querySelector('[data-range]'); return el && el.dataset.range !== prev; }",
                    arg=prev_range)
            page.locator(".analytics-body:not(.busy)").wait_for()
            return page.locator("[data-range]").get_attribute("data-range")

        def read() -> dict:
            tables = {name: page.locator(f'table[data-table="{name}"]').evaluate(READ_TABLE)
                      for name in ("funnel", "drop_off", "scores", "sector", "budget", "timeline", "cost", "latency")}
            kpis = {tile.get_attribute("data-kpi"): tile.get_attribute("data-value")
                    for tile in page.locator("[data-kpi]").all()}
            return _shown(tables, kpis)

        def canvas(name: str) -> tuple[str, str]:
            node = page.locator(f'[data-chart="{name}"] canvas')
            return node.evaluate("c => c.toDataURL()"), node.get_attribute("data-renders")

        default_range = settled()
        shown_30 = read()
        # One source page: the numbers become that page's, then all pages again.
        pages = page.locator('select[data-filter="page"] option').all_inner_texts()
        before = page.locator('[data-kpi="leads"]').get_attribute("data-value")
        page.locator('select[data-filter="page"]').select_option("https://a.example/precios")
        page.wait_for_function("v => document.querySelector('[data-kpi=leads]').dataset.value !== v", arg=before)
        page.locator(".analytics-body:not(.busy)").wait_for()
        shown_page = read()
        page.locator('select[data-filter="page"]').select_option("")
        page.wait_for_function("v => document.querySelector('[data-kpi=leads]').dataset.value === v", arg=before)
        page.locator(".analytics-body:not(.busy)").wait_for()
        funnel_30 = canvas("funnel")
        labels_es = {
            "aria": page.locator('[data-chart="funnel"] canvas').get_attribute("aria-label"),
            "role": page.locator('[data-chart="funnel"] canvas').get_attribute("role"),
            "kpi": page.locator('[data-kpi="rate"] dt').inner_text(),
            "head": page.locator('table[data-table="funnel"] thead').text_content(),
        }
        # "Show as table" makes the (always present) table visible.
        toggle = page.locator('[data-chart="funnel"] .table-toggle')
        toggle.click()
        table_visible = page.locator('table[data-table="funnel"]').bounding_box()["width"] > 100
        expanded = toggle.get_attribute("aria-expanded")
        toggle.click()

        page.set_viewport_size({"width": 1280, "height": _full_height(page)})
        page.screenshot(path=screenshots / "analytics-desktop-es.png")
        page.set_viewport_size({"width": 820, "height": 1180})
        page.wait_for_timeout(200)
        one_column = page.locator('[data-chart="funnel"]').bounding_box()["width"] > 600
        page.set_viewport_size({"width": 820, "height": _full_height(page)})
        page.screenshot(path=screenshots / "analytics-tablet-es.png")
        page.set_viewport_size({"width": 1280, "height": 900})

        # The last 7 days: the older lead is gone from the tables and the funnel is redrawn.
        page.get_by_role("button", name="7 días").click()
        range_7 = settled(default_range)
        shown_7 = read()
        funnel_7 = canvas("funnel")

        # A custom period from yesterday: the day before drops out of the usage tables.
        page.get_by_role("button", name="Personalizado").click()
        page.get_by_label("Desde", exact=True).fill(d2)
        range_custom = settled(range_7)
        shown_custom = read()


        # The CSV is the API's, with the period on screen.
        with page.expect_download() as info:
            page.locator('[data-csv="funnel"]').click()
        download = info.value
        csv_text = download.path().read_bytes().decode("utf-8")
        csv_name = download.suggested_filename

        # English: labels, and dates and numbers in English.
        page.get_by_role("button", name="EN", exact=True).click()
        page.get_by_role("heading", name="Analytics", exact=True).wait_for()
        page.get_by_role("button", name="30 days").click()
        settled(range_custom)
        labels_en = {
            "kpi": page.locator('[data-kpi="rate"] dt').inner_text(),
            "head": page.locator('table[data-table="funnel"] thead').text_content(),
            "range": page.locator("[data-range]").inner_text(),
            "buttons": [page.get_by_role("button", name=n).count() for n in ("7 days", "Custom", "Funnel (CSV)")],
            "aria": page.locator('[data-chart="funnel"] canvas').get_attribute("aria-label"),
            "nav": page.get_by_role("navigation", name="Sections").get_by_role("link", name="Analytics").count(),
        }
        page.set_viewport_size({"width": 1280, "height": _full_height(page)})
        page.screenshot(path=screenshots / "analytics-desktop-en.png")
        page.set_viewport_size({"width": 820, "height": 1180})
        page.wait_for_timeout(200)
        page.set_viewport_size({"width": 820, "height": _full_height(page)})
        page.screenshot(path=screenshots / "analytics-tablet-en.png")

        # A period with nothing in it says so.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="Custom").click()
        page.get_by_label("From", exact=True).fill("2025-01-01")
        page.get_by_label("To", exact=True).fill("2025-01-31")
        page.get_by_text("No data in this period").wait_for()
        page.screenshot(path=screenshots / "analytics-empty-en.png")

        # The API failing says so and offers a retry that works once it is back.
        clean_errors = list(errors)

        def fail(route):
            route.fulfill(status=503, content_type="application/json",
                          body='{"error": {"code": "unavailable", "message": "Service unavailable"}}')

        page.route("**/api/v1/analytics/usage*", fail)
        page.get_by_role("button", name="7 days").click()
        alert = page.get_by_role("alert").filter(has_text="Could not load the numbers")
        alert.wait_for()
        failure_text = alert.inner_text()
        page.unroute("**/api/v1/analytics/usage*", fail)
        alert.get_by_role("button", name="Try again").click()
        alert.wait_for(state="detached")
        page.locator('table[data-table="funnel"]').wait_for(state="attached")
        late_errors = errors[len(clean_errors):]
        return {"errors": clean_errors, "late_errors": late_errors, "failure_text": failure_text, "on_conversations": on_conversations, "chart_requests": chart_requests,
                "default_range": default_range, "range_7": range_7, "range_custom": range_custom,
                "shown_30": shown_30, "shown_7": shown_7, "shown_custom": shown_custom,
                "pages": pages, "shown_page": shown_page,
                "funnel_30": funnel_30, "funnel_7": funnel_7, "labels_es": labels_es, "labels_en": labels_en,
                "table_visible": table_visible, "expanded": expanded, "one_column": one_column,
                "csv": csv_text, "csv_name": csv_name}

    r = in_browser(scenario)
    assert not r["errors"], r["errors"]
    assert "Service unavailable" in r["failure_text"]
    assert all("503" in e for e in r["late_errors"]), r["late_errors"]
    assert r["on_conversations"] == [] and r["chart_requests"], r["chart_requests"]

    # Every table and tile is the API's answer for the period on screen.
    for key in ("30", "7", "custom"):
        first, last = r[{"30": "default_range", "7": "range_7", "custom": "range_custom"}[key]].split("/")
        assert r[f"shown_{key}"] == _normalised(_expected(client, first, last)), key
    first, last = r["default_range"].split("/")
    assert r["shown_page"] == _normalised(_expected(client, first, last, page="https://a.example/precios"))
    assert r["shown_page"]["kpis"]["leads"] == 2
    assert r["pages"][0] == "Todas las páginas" and "/precios (2)" in r["pages"]
    # The known dataset: six sessions and two qualified leads in 30 days, one in the last 7.
    assert r["default_range"].endswith(f"/{today}")
    funnel_30 = {row[0]: row[1] for row in r["shown_30"]["funnel"]}
    funnel_7 = {row[0]: row[1] for row in r["shown_7"]["funnel"]}
    assert (funnel_30["sessions"], funnel_30["qualified"]) == (6, 2)
    assert (funnel_7["sessions"], funnel_7["qualified"]) == (5, 1)
    assert r["range_7"].split("/")[1] == today
    assert r["range_custom"] == f"{d2}/{r['range_7'].split('/')[1]}"
    assert [row[0] for row in r["shown_custom"]["cost"]] == [d2]
    assert len(r["shown_30"]["cost"]) == 2
    # The funnel chart was drawn again with other numbers.
    assert r["funnel_7"][0] != r["funnel_30"][0] and int(r["funnel_7"][1]) > int(r["funnel_30"][1])

    # Accessible: the canvas is an image with the numbers in its label; the table shows on demand.
    assert r["labels_es"]["role"] == "img" and "Sesiones 6" in r["labels_es"]["aria"]
    assert r["table_visible"] and r["expanded"] == "true" and r["one_column"]
    assert r["labels_es"]["kpi"] == "Tasa de cualificación" and "Etapa" in r["labels_es"]["head"]
    assert r["labels_en"]["kpi"] == "Qualification rate" and "Stage" in r["labels_en"]["head"]
    assert r["labels_en"]["buttons"] == [1, 1, 1] and r["labels_en"]["nav"] == 1
    assert "Sessions 6" in r["labels_en"]["aria"]
    first, last = r["default_range"].split("/")
    assert "time zone Europe/Madrid" in r["labels_en"]["range"] and " to " in r["labels_en"]["range"]

    # The CSV downloaded is the API's for the period then on screen.
    first, last = r["range_custom"].split("/")
    response = client.get("/api/v1/analytics/funnel", {"from": first, "to": last, "format": "csv"})
    assert r["csv"] == response.content.decode()
    assert r["csv_name"] == f"markezy-funnel-{first}-{last}.csv"
    rows = list(csv.reader(io.StringIO(r["csv"])))
    assert rows[0] == ["path", "value"] and ["stages.0.count", "5"] in rows


def _full_height(page) -> int:
    """The viewport height that shows the whole dashboard (the page scrolls inside .page)."""
    return page.evaluate("""() => {
      const page = document.querySelector('.page');
      return Math.ceil(page.getBoundingClientRect().top + page.scrollHeight);
    }""") + 8
