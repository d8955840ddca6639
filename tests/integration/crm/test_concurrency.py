"""100 sync runs for 20 leads, fired concurrently from threads with their own
database connections (real MariaDB row locks), against an emulator failing 30 %
of its calls: exactly 20 contacts in the end."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django_scopes import scope

from tests.integration.crm.helpers import connect, qualified_lead_row

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        connection.close()  # each worker thread has its own connection


def test_concurrent_syncs_with_failures_make_exactly_one_contact_per_lead(make_agency, crm, queued, settings):
    from integrations.models import CrmSync
    from integrations.services import crm_sync_run

    settings.CRM_SYNC_MAX_ATTEMPTS = 60  # this test is about duplicates, not about giving up
    settings.CRM_BREAKER_COOLDOWN_SECONDS = 0.05
    a = make_agency()
    connect(a)
    leads = [qualified_lead_row(a.agency, n=100 + i) for i in range(20)]
    crm.inject("error", status=500, times=None, probability=0.3)
    runs = [lead for lead in leads for _ in range(5)]
    random.Random(7).shuffle(runs)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda lead: _in_thread(crm_sync_run, lead_id=lead.id, agency_id=a.agency.id,
                                                         reset=True), runs))
    assert len(outcomes) == 100
    assert {o.status for o in outcomes} <= {"synced", "pending", "breaker_open"}
    assert any(o.status == "pending" for o in outcomes)  # the faults did bite
    # Retries (what the task would schedule), still concurrent, until nothing is left.
    for _ in range(200):
        with scope(agency=a.agency.id):
            left = list(CrmSync.objects.exclude(status="synced").values_list("lead_id", flat=True))
        if not left:
            break
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda lead_id: _in_thread(crm_sync_run, lead_id=lead_id, agency_id=a.agency.id),
                          left * 2))
    contacts = crm.contacts()
    assert len(contacts) == 20
    emails = Counter(c["emails"][0]["email"] for c in contacts)
    assert set(emails.values()) == {1}
    assert set(emails) == {lead.email for lead in leads}
    with scope(agency=a.agency.id):
        states = list(CrmSync.objects.all())
    assert len(states) == 20 and {s.status for s in states} == {"synced"}
    assert {s.contact_id for s in states} == {c["id"] for c in contacts}
    assert len(crm.requests(method="POST", path=r"^/contacts/$")) >= 20
    deals = Counter(d["contact"] for d in crm.deals())
    assert set(deals.values()) == {1} and len(deals) == 20
