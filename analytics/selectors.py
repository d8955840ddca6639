"""The agency's numbers (CONTRACT §5.2), computed in SQL from the event log.

Stages come from `LeadEvent` (consent, steps reached, qualification,
strategy ready, CRM synced) and turns, never from counters kept by hand, so
they can always be recomputed and cannot drift. Every query is filtered by
the actor's agency first and runs on the (agency, …) indexes.

Definitions, also in the API schema:
- the range is `[from, to]` in whole days of the agency's time zone, on the
  conversation's creation time (usage: on the turn's time);
- a percentile is the nearest rank: the value at rank ⌈p·N⌉ of the sorted
  values (p50 of 1, 2, 3, 4 is 2);
- `dropped` at a step counts the leads whose conversation is still sitting
  on that step (neither qualified nor declined).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from project.db.concurrent import run_concurrently
from tenancy.actors import StaffActor

SCORE_BUCKETS = [(i * 10, i * 10 + 9) for i in range(9)] + [(90, 100)]
# Monthly budget bands in euros: [low, high).
BUDGET_BANDS = [("<500", 0, 500), ("500-999", 500, 1000), ("1000-2999", 1000, 3000), ("3000-9999", 3000, 10000),
                ("10000+", 10000, None)]


@dataclass(frozen=True)
class Range:
    agency_id: str
    tz: ZoneInfo
    first: date
    last: date
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    flow_version: int | None = None
    page: str | None = None  # a source page: conversations whose page URL starts with it
    # The agency's preview conversations (staff trying the chat), left out of every figure.
    previews: tuple[str, ...] = ()


def analytics_range(actor: StaffActor, *, first: date | None, last: date | None, flow_version: int | None,
                    page: str | None = None) -> Range:
    """The agency's days [first, last] (default: the last 30 days) as UTC bounds."""
    from tenancy.models import Agency

    zone = Agency.objects.filter(id=actor.agency_id).values_list("timezone", flat=True).first() or "Europe/Madrid"
    tz = ZoneInfo(zone)
    today = datetime.now(tz).date()
    last = last or today
    first = first or (last - timedelta(days=29))
    start = datetime.combine(first, time.min, tz).astimezone(dt_timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(dt_timezone.utc)
    from chat.selectors import conversation_preview_ids

    # Read once per request, so the figures' queries need no subquery per row.
    previews = conversation_preview_ids(agency_id=actor.agency_id)
    return Range(_uuid_hex(actor.agency_id), tz, first, last, start, end, flow_version, page or None,
                 tuple(_uuid_hex(p) for p in previews))


def _naive(moment: datetime) -> datetime:
    # MySQL DATETIME columns hold naive UTC; comparisons must be naive UTC too.
    return moment.astimezone(dt_timezone.utc).replace(tzinfo=None)


def _local_day_sql(column: str, rng: Range) -> tuple[str, list]:
    """SQL for the local date of a UTC `column`, honouring DST inside the
    range, without the database's time-zone tables (MySQL's CONVERT_TZ needs
    them loaded; most servers don't have them)."""
    def offset_at(moment: datetime) -> int:
        return int(moment.astimezone(rng.tz).utcoffset().total_seconds() // 60)

    segments: list[tuple[datetime, int]] = []  # (until, offset minutes)
    moment, current = rng.start, offset_at(rng.start)
    while moment < rng.end:
        following = min(moment + timedelta(days=1), rng.end)
        if offset_at(following) != current:
            # Transitions fall on whole hours in every zone an agency uses: find the hour.
            low, high = moment, following
            while high - low > timedelta(hours=1):
                middle = low + (high - low) // 2
                middle = middle.replace(minute=0, second=0, microsecond=0)
                if middle <= low:
                    middle = low + timedelta(hours=1)
                if offset_at(middle) == current:
                    low = middle
                else:
                    high = middle
            segments.append((high, current))
            current = offset_at(high)
        moment = following
    cases, params = [], []
    for until, offset in segments:
        cases.append(f"WHEN {column} < %s THEN %s")
        params += [_naive(until), offset]
    expr = f"(CASE {' '.join(cases)} ELSE %s END)" if cases else "%s"
    params.append(current or 0)
    if connection.vendor == "mysql":
        return f"DATE(DATE_ADD({column}, INTERVAL {expr} MINUTE))", params
    return f"date({column}, printf('%%+d minutes', {expr}))", params


def _local_days(rng: Range) -> list[tuple[date, datetime, datetime]]:
    """Each local day of the range with its UTC bounds [start, end): 23, 24
    or 25 hours long across a DST change, as the zone says."""
    days, day = [], rng.first
    while day <= rng.last:
        following = day + timedelta(days=1)
        days.append((day, datetime.combine(day, time.min, rng.tz), datetime.combine(following, time.min, rng.tz)))
        day = following
    return days


def _nearest_rank_sql(values: str, count: str, p: float) -> str:
    """MySQL: the nearest-rank p-percentile (rank ⌈p·n⌉) of `values`, a sorted
    GROUP_CONCAT of the n non-null values that `count` counts (NULLs are left
    out of both)."""
    return f"SUBSTRING_INDEX(SUBSTRING_INDEX({values}, ',', {_ceil(f'{p} * {count}')}), ',', -1)"


def _ceil(expr: str) -> str:
    if connection.vendor == "mysql":
        return f"CEIL({expr})"
    # SQLite has CEIL only when built with its math functions.
    return f"(CAST({expr} AS INTEGER) + (({expr}) > CAST({expr} AS INTEGER)))"


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Preview conversations (staff trying a flow version) are left out of every
# figure. They are few, so an anti-join on the (agency, is_preview) index
# keeps the other queries on their covering indexes.
def _not_preview(column: str, rng: Range) -> tuple[str, list]:
    if not rng.previews:
        return "1 = 1", []
    return f"{column} NOT IN ({', '.join(['%s'] * len(rng.previews))})", list(rng.previews)


def _uuid_hex(value) -> str:
    # The form the raw SQL compares ids in (as agency_id above): 32 hex digits.
    return str(value).replace("-", "")


def _conversation_filter(rng: Range, alias: str = "c") -> tuple[str, list]:
    preview_sql, preview_params = _not_preview(f"{alias}.id", rng)
    sql = f"{alias}.agency_id = %s AND {alias}.created >= %s AND {alias}.created < %s AND {preview_sql}"
    params: list = [rng.agency_id, _naive(rng.start), _naive(rng.end), *preview_params]
    if rng.flow_version is not None:
        sql += (f" AND {alias}.flow_version_id IN (SELECT fv.id FROM qualification_flowversion fv "
                "WHERE fv.agency_id = %s AND fv.number = %s)")
        params += [rng.agency_id, rng.flow_version]
    if rng.page:
        sql += f" AND {alias}.page_url LIKE %s ESCAPE '!'"
        params.append(_like_prefix(rng.page))
    return sql, params


def _like_prefix(text: str) -> str:
    # A prefix, so that "https://site.es/precios" also finds "…/precios?utm_source=…".
    # "!" escapes (ESCAPE '!'): the same in MariaDB and SQLite, unlike a backslash.
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _page_sql(column: str) -> str:
    """The page URL without its query string and fragment, in SQL."""
    if connection.vendor == "mysql":
        return f"SUBSTRING_INDEX(SUBSTRING_INDEX({column}, '#', 1), '?', 1)"
    cut = f"(CASE WHEN instr({column}, '#') > 0 THEN substr({column}, 1, instr({column}, '#') - 1) ELSE {column} END)"
    return f"(CASE WHEN instr({cut}, '?') > 0 THEN substr({cut}, 1, instr({cut}, '?') - 1) ELSE {cut} END)"


def analytics_pages(rng: Range, *, limit: int = 20) -> list[dict]:
    """The source pages of the range's conversations, busiest first (the
    choices of the `page` filter; computed without that filter)."""
    where, params = _conversation_filter(replace(rng, page=None))
    page = _page_sql("c.page_url")
    return [{"page": url, "conversations": count} for url, count in _rows(
        f"SELECT {page} AS p, COUNT(*) FROM chat_conversation c WHERE {where} AND c.page_url <> '' "
        f"GROUP BY p ORDER BY COUNT(*) DESC, p LIMIT {int(limit)}", params)]


def _flow_steps(rng: Range) -> list[str]:
    """The questions of the version asked for, else of the current one, in order."""
    from qualification.models import FlowVersion

    qs = FlowVersion.objects.filter(agency_id=rng.agency_id)
    if rng.flow_version is not None:
        qs = qs.filter(number=rng.flow_version)
    else:
        qs = qs.filter(status=FlowVersion.Status.PUBLISHED)
    version = qs.order_by("-number").only("definition").first()
    if version is None:
        return []
    return [q["field"] for q in version.definition.get("questions", []) if q.get("field") != "consent"]


# --- Funnel ------------------------------------------------------------------------------


def analytics_funnel(rng: Range) -> dict:
    # Events are reached through the agency's own conversations (c.agency_id),
    # which scopes them; testing e.agency_id as well would cost a row read per
    # event, where (lead, type, step) answers from the index alone.
    where, params = _conversation_filter(rng)
    steps = _flow_steps(rng)  # the ORM, in this thread (its scope): before the jobs
    # Five independent scans, at the same time (project/db/concurrent.py).
    counts, by_type, reached, waiting, pages = run_concurrently(
        lambda: _rows(
            "SELECT COUNT(*), COUNT(CASE WHEN EXISTS (SELECT 1 FROM chat_turn t WHERE t.conversation_id = c.id "
            f"AND t.role = 'lead') THEN 1 END) FROM chat_conversation c WHERE {where}", params)[0],
        lambda: dict(_rows(
            "SELECT e.type, COUNT(DISTINCT e.lead_id) FROM qualification_leadevent e "
            "JOIN qualification_lead l ON l.id = e.lead_id JOIN chat_conversation c ON c.id = l.conversation_id "
            f"WHERE e.type IN ('consent.granted', 'lead.qualified', 'strategy.ready', 'crm.synced') "
            f"AND {where} GROUP BY e.type", params)),
        lambda: dict(_rows(
            "SELECT e.step, COUNT(DISTINCT e.lead_id) FROM qualification_leadevent e "
            "JOIN qualification_lead l ON l.id = e.lead_id JOIN chat_conversation c ON c.id = l.conversation_id "
            f"WHERE e.type = 'step.changed' AND {where} GROUP BY e.step", params)),
        lambda: dict(_rows(
            f"SELECT c.step, COUNT(*) FROM chat_conversation c WHERE {where} AND c.status = 'open' GROUP BY c.step",
            params)),
        lambda: analytics_pages(rng),
    )
    sessions, conversations = counts
    stages = [
        {"stage": "sessions", "count": sessions},
        {"stage": "conversations", "count": conversations},
        {"stage": "consented", "count": by_type.get("consent.granted", 0)},
        *({"stage": f"step:{step}", "step": step, "count": reached.get(step, 0)} for step in steps),
        {"stage": "qualified", "count": by_type.get("lead.qualified", 0)},
        {"stage": "strategy_ready", "count": by_type.get("strategy.ready", 0)},
        {"stage": "crm_synced", "count": by_type.get("crm.synced", 0)},
    ]
    drop_off = []
    for step in ["consent", *steps]:
        # Every session starts on the consent question, engaged or not.
        entered = sessions if step == "consent" else reached.get(step, 0)
        dropped = waiting.get(step, 0)
        drop_off.append({"step": step, "reached": entered, "dropped": dropped,
                         "rate": round(dropped / entered, 4) if entered else 0.0})
    return {"range": _range_data(rng), "stages": stages, "drop_off": drop_off, "pages": pages}


def _range_data(rng: Range) -> dict:
    return {"from": rng.first.isoformat(), "to": rng.last.isoformat(), "timezone": str(rng.tz),
            "flow_version": rng.flow_version, "page": rng.page}


# --- Quality -------------------------------------------------------------------------------


def _nearest_rank(sql_values: str, params: list, p: float) -> float | None:
    """The nearest-rank percentile of the values a subquery yields, in SQL."""
    [(count,)] = _rows(f"SELECT COUNT(*) FROM ({sql_values}) v", params)
    if not count:
        return None
    rank = max(1, math.ceil(p * count))
    [(value,)] = _rows(f"SELECT v.x FROM ({sql_values}) v ORDER BY v.x LIMIT 1 OFFSET {rank - 1}", params)
    return float(value)


def analytics_quality(rng: Range) -> dict:
    where, params = _conversation_filter(rng)
    qualified = (f"FROM qualification_lead l JOIN chat_conversation c ON c.id = l.conversation_id "
                 f"WHERE l.agency_id = %s AND l.qualified_at IS NOT NULL AND l.status = 'qualified' AND {where}")
    qparams = [rng.agency_id, *params]
    # One pass for the counts, the score buckets, the budget bands and (on
    # MySQL) the median; sectors and time lines are open-ended, so GROUP BY.
    bucket_sums = ", ".join(
        f"SUM(CASE WHEN l.score >= {low}" + (f" AND l.score < {low + 10}" if i < len(SCORE_BUCKETS) - 1 else "")
        + " THEN 1 ELSE 0 END)" for i, (low, _) in enumerate(SCORE_BUCKETS))
    band_sums = ", ".join(
        f"SUM(CASE WHEN l.budget_monthly >= {low}" + (f" AND l.budget_monthly < {high}" if high else "")
        + " THEN 1 ELSE 0 END)" for _, low, high in BUDGET_BANDS)
    if connection.vendor == "mysql":
        seconds = "TIMESTAMPDIFF(SECOND, l.created, l.qualified_at)"
        median_sql = _nearest_rank_sql(f"GROUP_CONCAT({seconds} ORDER BY {seconds})", f"COUNT({seconds})", 0.5)
    else:
        seconds = "CAST(ROUND((julianday(l.qualified_at) - julianday(l.created)) * 86400) AS INTEGER)"
        median_sql = "NULL"
    summary_sql = (f"SELECT COUNT(*), COUNT(l.score), AVG(l.score), {bucket_sums}, {band_sums}, {median_sql} "
                   f"{qualified}")
    summary, sectors, timelines = run_concurrently(
        lambda: _rows(summary_sql, qparams)[0],
        lambda: _rows(f"SELECT l.sector, COUNT(*) {qualified} GROUP BY l.sector ORDER BY COUNT(*) DESC, l.sector",
                      qparams),
        lambda: _rows(f"SELECT l.timeline, COUNT(*) {qualified} GROUP BY l.timeline "
                      "ORDER BY COUNT(*) DESC, l.timeline", qparams),
    )
    count, scored_count, avg_score = summary[0], summary[1], summary[2]
    buckets = [int(n or 0) for n in summary[3:3 + len(SCORE_BUCKETS)]]
    band_counts = [int(n or 0) for n in summary[3 + len(SCORE_BUCKETS):3 + len(SCORE_BUCKETS) + len(BUDGET_BANDS)]]
    median_value = summary[-1]
    if connection.vendor == "mysql":
        median = float(median_value) if median_value not in (None, "") else None
    else:
        median = _nearest_rank(f"SELECT {seconds} AS x {qualified}", qparams, 0.5)
    distribution = [{"from": low, "to": high, "count": buckets[i]} for i, (low, high) in enumerate(SCORE_BUCKETS)]
    unknown_band = count - sum(band_counts)
    return {
        "range": _range_data(rng),
        "qualified": count,
        "average_score": round(float(avg_score), 2) if scored_count else None,
        "score_distribution": distribution,
        "by_sector": [{"sector": sector or "unknown", "count": count} for sector, count in sectors],
        "by_budget_band": [{"band": name, "count": band_counts[i]} for i, (name, _, _) in enumerate(BUDGET_BANDS)]
        + ([{"band": "unknown", "count": unknown_band}] if unknown_band else []),
        "by_timeline": [{"timeline": timeline or "unknown", "count": count} for timeline, count in timelines],
        "median_seconds_to_qualify": median,
    }


# --- Usage ---------------------------------------------------------------------------------


def _prices() -> tuple[float, float, str]:
    """Price per million prompt and completion tokens of the configured model."""
    table = getattr(settings, "LLM_PRICES", {})
    price = table.get(settings.OPENAI_MODEL) or table.get("default") or {"prompt": 0.0, "completion": 0.0}
    return float(price["prompt"]), float(price["completion"]), getattr(settings, "LLM_PRICE_CURRENCY", "USD")


def analytics_usage(rng: Range) -> dict:
    preview_sql, preview_params = _not_preview("t.conversation_id", rng)
    filters, filter_params = preview_sql, list(preview_params)
    if rng.flow_version is not None:
        filters += (" AND t.conversation_id IN (SELECT c.id FROM chat_conversation c JOIN qualification_flowversion fv "
                    "ON fv.id = c.flow_version_id WHERE c.agency_id = %s AND fv.number = %s)")
        filter_params += [rng.agency_id, rng.flow_version]
    if rng.page:
        filters += (" AND t.conversation_id IN (SELECT c.id FROM chat_conversation c WHERE c.agency_id = %s "
                    "AND c.page_url LIKE %s ESCAPE '!')")
        filter_params += [rng.agency_id, _like_prefix(rng.page)]

    def turns(start: datetime, end: datetime) -> tuple[str, list]:
        # The agency's assistant turns in [start, end): a range of `turn_usage`.
        return ("FROM chat_turn t WHERE t.agency_id = %s AND t.role = 'assistant' AND t.created >= %s "
                f"AND t.created < %s AND {filters}", [rng.agency_id, _naive(start), _naive(end), *filter_params])

    base, params = turns(rng.start, rng.end)
    prompt_price, completion_price, currency = _prices()
    if connection.vendor == "mysql":
        # One aggregate per local day over that day's own index range, joined
        # by UNION ALL: no day computed per turn and no GROUP BY to keep. Each
        # latency's sorted list gives the nearest rank ⌈p·n⌉ of its n non-null
        # values (NULLs are left out of GROUP_CONCAT and COUNT alike); sorting
        # a day's values costs a fraction of ranking every turn with a window.
        day_parts, day_params, distinct_parts, distinct_params = [], [], [], []
        for day, start, end in _local_days(rng):
            where, where_params = turns(start, end)
            day_parts.append(
                "SELECT %s AS d, COUNT(*) AS turns, COALESCE(SUM(t.prompt_tokens), 0) AS p, "
                "COALESCE(SUM(t.completion_tokens), 0) AS c, "
                "COUNT(t.first_token_ms) AS n_ttft, GROUP_CONCAT(t.first_token_ms ORDER BY t.first_token_ms) AS ttfts, "
                f"COUNT(t.duration_ms) AS n_turn, GROUP_CONCAT(t.duration_ms ORDER BY t.duration_ms) AS turn_ms {where}")
            day_params += [day.isoformat(), *where_params]
            distinct_parts.append(f"SELECT %s, COUNT(DISTINCT t.conversation_id) {where}")
            distinct_params += [day.isoformat(), *where_params]
        day_sql = (
            "SELECT s.d, s.turns, s.p, s.c, "
            f"{_nearest_rank_sql('s.ttfts', 's.n_ttft', 0.5)}, {_nearest_rank_sql('s.ttfts', 's.n_ttft', 0.95)}, "
            f"{_nearest_rank_sql('s.turn_ms', 's.n_turn', 0.5)}, {_nearest_rank_sql('s.turn_ms', 's.n_turn', 0.95)} "
            f"FROM ({' UNION ALL '.join(day_parts)}) s WHERE s.turns > 0 ORDER BY s.d")
        # Distinct conversations per day: their own read, since counting them
        # above would make MariaDB keep a distinct-set beside the sorted lists.
        conversations_sql = " UNION ALL ".join(distinct_parts)
    else:
        # SQLite has neither SUBSTRING_INDEX nor an ordered group_concat
        # everywhere: the local day per turn, and each metric ranked with its
        # NULLs last so that ranks 1..n are its n non-null values.
        day, day_expr_params = _local_day_sql("t.created", rng)
        ranked = (
            "SELECT s.d, s.prompt_tokens, s.completion_tokens, s.ttft, s.turn, "
            "ROW_NUMBER() OVER (PARTITION BY s.d ORDER BY s.ttft IS NULL, s.ttft) AS rn_ttft, "
            "COUNT(s.ttft) OVER (PARTITION BY s.d) AS n_ttft, "
            "ROW_NUMBER() OVER (PARTITION BY s.d ORDER BY s.turn IS NULL, s.turn) AS rn_turn, "
            "COUNT(s.turn) OVER (PARTITION BY s.d) AS n_turn "
            f"FROM (SELECT {day} AS d, t.prompt_tokens, t.completion_tokens, "
            f"t.first_token_ms AS ttft, t.duration_ms AS turn {base}) s")
        day_sql = (
            "SELECT r.d, COUNT(*), COALESCE(SUM(r.prompt_tokens), 0), COALESCE(SUM(r.completion_tokens), 0), "
            f"MAX(CASE WHEN r.rn_ttft = {_ceil('0.5 * r.n_ttft')} THEN r.ttft END), "
            f"MAX(CASE WHEN r.rn_ttft = {_ceil('0.95 * r.n_ttft')} THEN r.ttft END), "
            f"MAX(CASE WHEN r.rn_turn = {_ceil('0.5 * r.n_turn')} THEN r.turn END), "
            f"MAX(CASE WHEN r.rn_turn = {_ceil('0.95 * r.n_turn')} THEN r.turn END) "
            f"FROM ({ranked}) r GROUP BY r.d ORDER BY r.d")
        day_params = [*day_expr_params, *params]
        conversations_sql = f"SELECT {day} AS d, COUNT(DISTINCT t.conversation_id) {base} GROUP BY d"
        distinct_params = [*day_expr_params, *params]
    # Per conversation first (from the index), then its lead: one lead lookup
    # per conversation instead of one per turn. Lead is one-to-one with its
    # conversation, so the rows of the LEFT JOIN are the distinct
    # conversations and their count (before LIMIT) is `leads`; the few without
    # a lead sort last and stay out of `per_lead`.
    per_conversation_sql = (
        "SELECT l.id, x.p, x.c, COUNT(*) OVER () FROM ("
        "SELECT t.conversation_id, SUM(t.prompt_tokens) AS p, SUM(t.completion_tokens) AS c "
        f"{base} GROUP BY t.conversation_id) x "
        "LEFT JOIN qualification_lead l ON l.conversation_id = x.conversation_id "
        "ORDER BY l.id IS NULL, x.p + x.c DESC, l.id LIMIT 100")
    # Three independent reads of `turn_usage`, at the same time (project/db/concurrent.py).
    totals, conversations_by_day, per_conversation = run_concurrently(
        lambda: _rows(day_sql, day_params),
        lambda: dict(_rows(conversations_sql, distinct_params)),
        lambda: _rows(per_conversation_sql, params),
    )
    conversations_by_day = {str(d): n for d, n in conversations_by_day.items()}

    def cost(prompt: int, completion: int) -> float:
        return round((prompt * prompt_price + completion * completion_price) / 1_000_000, 6)

    def percentiles(p50, p95) -> dict:
        return {"p50": float(p50) if p50 is not None else None, "p95": float(p95) if p95 is not None else None}

    days = []
    for d, turns, prompt, completion, ttft50, ttft95, turn50, turn95 in totals:
        days.append({"date": str(d), "turns": turns, "prompt_tokens": int(prompt), "completion_tokens": int(completion),
                     "cost": cost(int(prompt), int(completion)), "conversations": conversations_by_day.get(str(d), 0),
                     "first_token_ms": percentiles(ttft50, ttft95), "turn_ms": percentiles(turn50, turn95)})
    leads_total = per_conversation[0][3] if per_conversation else 0
    per_lead = [(lead_id, p or 0, c or 0) for lead_id, p, c, _ in per_conversation if lead_id is not None]
    prompt_total = sum(d["prompt_tokens"] for d in days)
    completion_total = sum(d["completion_tokens"] for d in days)
    return {
        "range": _range_data(rng),
        "currency": currency,
        "prices_per_million": {"model": settings.OPENAI_MODEL, "prompt": prompt_price, "completion": completion_price},
        "totals": {"prompt_tokens": prompt_total, "completion_tokens": completion_total,
                   "cost": cost(prompt_total, completion_total), "leads": leads_total,
                   "cost_per_lead": round(cost(prompt_total, completion_total) / leads_total, 6) if leads_total else None},
        "days": days,
        "per_lead": [{"lead": str(_uuid_text(lead_id)), "prompt_tokens": int(p), "completion_tokens": int(c),
                      "cost": cost(int(p), int(c))} for lead_id, p, c in per_lead],
    }


def _uuid_text(value) -> str:
    import uuid

    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    return str(uuid.UUID(text)) if len(text) in (32, 36) else text
