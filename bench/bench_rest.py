"""REST and analytics latency with 1 M turns stored (bench/README.md).

Generates, in a MariaDB of its own (scripts/services.sh, database
`markezy_bench_rest`), one busy agency with 50 000 conversations and leads
spread over a year, 1 000 000 turns (half of them assistant turns with
tokens and latencies) and their lead events (consent, steps reached,
qualified, strategy ready), plus a small second agency. Then it times the
staff REST endpoints and each analytics request through Django's full
request path (middleware, JWT, DRF, serialisation; no network), prints
p50/p95/max per request, the ratio to its target, and which index each
analytics query's plan uses.

    .venv/bin/python bench/bench_rest.py                 # generate (once) and measure
    .venv/bin/python bench/bench_rest.py --reps 50       # more repetitions
    .venv/bin/python bench/bench_rest.py --regenerate    # new data set
    .venv/bin/python bench/bench_rest.py --year          # also year-long analytics ranges
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.services import database_own, services_start, services_stop

DB_NAME = "markezy_bench_rest"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p * len(ordered) + 0.5)) - 1))]


def setup_environment() -> str | None:
    services_dir = services_start(redis=False)
    database_own(DB_NAME)
    os.environ.setdefault("MARKEZY_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.update({"DEBUG": "0", "LOG_LEVEL": "WARNING", "REST_RATE_PER_USER": "1000000/min",
                       "DJANGO_SETTINGS_MODULE": "project.settings"})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)
    return services_dir


def generate(conversations: int, turns_per_conversation: int) -> None:
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from chat.models import Conversation, Turn
    from qualification.models import Lead, LeadEvent
    from tenancy.services import agency_create

    rnd = random.Random(42)
    steps = ["consent", "name", "company", "sector", "website", "goals", "audience", "channels", "budget_monthly",
             "timeline", "email", "phone", "done"]
    sectors = ["ecommerce", "servicios_locales", "b2b", "hosteleria", "salud_belleza", "otro"]
    now = timezone.now()
    with scopes_disabled():
        for name, count in (("Bench Big", conversations), ("Bench Small", max(1, conversations // 50))):
            agency = agency_create(name=name, owner_email=f"owner-{uuid.uuid4().hex[:8]}@bench.test",
                                   owner_password="bench-password-123")
            from qualification.models import FlowVersion

            version = FlowVersion.objects.filter(agency=agency).order_by("-number").first()
            batch_c, batch_l, batch_t, batch_e = [], [], [], []

            def flush() -> None:
                with transaction.atomic():
                    Conversation.objects.bulk_create(batch_c, batch_size=2000)
                    Lead.objects.bulk_create(batch_l, batch_size=2000)
                    Turn.objects.bulk_create(batch_t, batch_size=5000)
                    LeadEvent.objects.bulk_create(batch_e, batch_size=5000)
                batch_c.clear(); batch_l.clear(); batch_t.clear(); batch_e.clear()

            started = time.monotonic()
            for i in range(count):
                created = now - timedelta(seconds=rnd.randint(0, 365 * 86400))
                depth = rnd.randint(0, len(steps) - 1)
                qualified = steps[depth] == "done"
                conversation = Conversation(agency=agency, flow_version=version, created=created, updated=created,
                                            step=steps[depth], status="qualified" if qualified else "open",
                                            consent_granted=depth > 0, last_seq=turns_per_conversation)
                lead = Lead(agency=agency, conversation=conversation, created=created,
                            status="qualified" if qualified else "collecting",
                            sector=rnd.choice(sectors) if depth > 3 else "",
                            timeline=rnd.choice(["inmediato", "1_3_meses", "explorando"]) if depth > 9 else "",
                            budget_monthly=rnd.choice([300, 800, 1500, 4000, 12000]) if depth > 8 else None,
                            score=rnd.randint(20, 100) if qualified else None, consent_granted=depth > 0,
                            qualified_at=created + timedelta(seconds=rnd.randint(120, 1800)) if qualified else None)
                batch_c.append(conversation)
                batch_l.append(lead)
                for n in range(turns_per_conversation):
                    assistant = n % 2 == 1
                    batch_t.append(Turn(
                        agency=agency, conversation=conversation, seq=n + 1, role="assistant" if assistant else "lead",
                        text="texto de prueba", created=created + timedelta(seconds=20 * n),
                        provider="openai" if assistant else "", prompt_tokens=rnd.randint(200, 900) if assistant else 0,
                        completion_tokens=rnd.randint(20, 120) if assistant else 0,
                        first_token_ms=rnd.randint(150, 900) if assistant else None,
                        duration_ms=rnd.randint(800, 4000) if assistant else None,
                        search_tokens="" if assistant else "tkbench tk" + str(rnd.randint(0, 5000))))
                seq = 0
                for reached in steps[: depth + 1]:
                    seq += 1
                    batch_e.append(LeadEvent(agency=agency, lead=lead, seq=seq, type="step.changed", step=reached,
                                             data={"to": reached}, created=created))
                    if reached == "consent" and depth > 0:
                        seq += 1
                        batch_e.append(LeadEvent(agency=agency, lead=lead, seq=seq, type="consent.granted", data={},
                                                 created=created))
                if qualified:
                    for kind in ("lead.qualified",) + (("strategy.ready",) if rnd.random() < 0.9 else ()):
                        seq += 1
                        batch_e.append(LeadEvent(agency=agency, lead=lead, seq=seq, type=kind, data={}, created=created))
                lead.event_count = seq
                if len(batch_c) >= 1000:
                    flush()
                    if i % 10000 < 1000:
                        print(f"  {name}: {i + 1}/{count} conversations ({time.monotonic() - started:.0f} s)", flush=True)
            flush()


def measure(reps: int, *, year: bool = False) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django_scopes import scopes_disabled

    from chat.models import Conversation
    from tenancy.models import Agency, Membership
    from tenancy.services import auth_login

    with scopes_disabled():
        agency = Agency.objects.get(name="Bench Big")
        owner = Membership.objects.filter(agency=agency, role="owner").select_related("user").first()
        conversation = Conversation.objects.filter(agency=agency).order_by("-created").first()
        lead_id = conversation.lead.id
        counts = {}
        with connection.cursor() as cursor:
            for table in ("chat_turn", "chat_conversation", "qualification_lead", "qualification_leadevent"):
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                counts[table] = cursor.fetchone()[0]
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    access = auth_login(email=owner.user.email, password="bench-password-123", agency_id=str(agency.id),
                        ip="127.0.0.1").access
    client = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    requests = [
        ("GET conversations/ (first page)", "/api/v1/conversations/", {}, 50),
        ("GET conversations/?status=qualified", "/api/v1/conversations/", {"status": "qualified"}, 50),
        ("GET conversations/?q=<word>", "/api/v1/conversations/", {"q": "tk1234"}, 50),
        ("GET conversations/{id}/", f"/api/v1/conversations/{conversation.id}/", {}, 50),
        ("GET leads/", "/api/v1/leads/", {}, 50),
        ("GET leads/{id}/", f"/api/v1/leads/{lead_id}/", {}, 50),
        ("GET analytics/funnel (30 days)", "/api/v1/analytics/funnel", {}, 200),
        ("GET analytics/quality (30 days)", "/api/v1/analytics/quality", {}, 200),
        ("GET analytics/usage (30 days)", "/api/v1/analytics/usage", {}, 200),
    ]
    if year:
        requests += [
            ("GET analytics/funnel (365 days)", "/api/v1/analytics/funnel", {"from": _days_ago(364)}, 200),
            ("GET analytics/usage (365 days)", "/api/v1/analytics/usage", {"from": _days_ago(364)}, 200),
        ]
    print("\n| request | p50 ms | p95 ms | max ms | target p95 | ratio |\n|---|---|---|---|---|---|")
    plans = {}
    for label, path, params, target in requests:
        for _ in range(3):
            assert client.get(path, params).status_code == 200, (path, client.get(path, params).content[:300])
        timings = []
        for _ in range(reps):
            started = time.perf_counter()
            response = client.get(path, params)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        p95 = pct(timings, 0.95)
        print(f"| {label} | {statistics.median(timings):.1f} | {p95:.1f} | {max(timings):.1f} | {target} | "
              f"{p95 / target:.2f} |", flush=True)
        if path.startswith("/api/v1/analytics/") and "365" not in label:
            # The plans of every query: run them on this thread's connection for once
            # (the request normally spreads them over project/db/concurrent.py's workers).
            with override_settings(DB_CONCURRENT_QUERIES=0), CaptureQueriesContext(connection) as captured:
                client.get(path, params)
            plans[label] = [q["sql"] for q in captured.captured_queries if "chat_turn" in q["sql"]
                            or "qualification_" in q["sql"] or "chat_conversation" in q["sql"]]
    print("\nIndexes the analytics queries use (EXPLAIN, table: key):")
    with connection.cursor() as cursor:
        for label, queries in plans.items():
            print(f"- {label}")
            for sql in queries:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN " + sql)
                names = [c[0] for c in cursor.description]
                used = sorted({f"{dict(zip(names, row))['table']}: {dict(zip(names, row))['key']}"
                               for row in cursor.fetchall()})
                print("    " + "; ".join(used))


def _days_ago(days: int) -> str:
    from datetime import date

    return (date.today() - timedelta(days=days)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--turns", type=int, default=20, help="turns per conversation (20 × 50 000 = 1 M)")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--year", action="store_true", help="also time year-long analytics ranges (slow)")
    args = parser.parse_args()
    services_dir = setup_environment()
    try:
        import django

        django.setup()
        from django_scopes import scopes_disabled

        from tenancy.models import Agency

        with scopes_disabled():
            exists = Agency.objects.filter(name="Bench Big").exists()
        if args.regenerate or not exists:
            if exists:
                with scopes_disabled():
                    Agency.objects.filter(name__startswith="Bench ").delete()
            started = time.monotonic()
            print(f"generating {args.conversations:,} conversations × {args.turns} turns…", flush=True)
            generate(args.conversations, args.turns)
            print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
        # As the web process does at start-up (project/asgi.py).
        from project.runtime import tune_gc, warm_up

        warm_up()
        tune_gc()
        measure(args.reps, year=args.year)
    finally:
        services_stop(services_dir)


if __name__ == "__main__":
    main()
