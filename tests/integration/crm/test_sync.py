"""The Clientify sync against the emulator (a real loopback server): exactly one
contact per lead whatever fails, the breaker, permanent errors, erasure."""

from __future__ import annotations

import time

import pytest
from django_scopes import scope, scopes_disabled

from tests.integration.crm.helpers import connect, qualified_lead_row, qualified_lead_via_chat, staff_actor

pytestmark = pytest.mark.django_db


def _run_queued_syncs(queued, *, rounds: int = 30) -> list[str]:
    """Run every queued `crm_sync` (and the retries they queue) to the end."""
    from integrations.tasks import crm_sync

    statuses = []
    for _ in range(rounds):
        batch = queued.named("integrations.tasks.crm_sync")
        if not batch:
            return statuses
        queued.clear()
        for kwargs in batch:
            kwargs.pop("due_at", None)  # the test is the clock: run retries now
            statuses.append(crm_sync(**kwargs))
    raise AssertionError(f"syncs still queued after {rounds} rounds: {statuses[-10:]}")


def _state(lead):
    from integrations.models import CrmSync

    with scope(agency=lead.agency_id):
        return CrmSync.objects.get(lead_id=lead.id)


def test_qualified_lead_becomes_one_contact_with_tags_fields_note_and_deal(
        make_agency, crm, queued, login, django_capture_on_commit_callbacks, monkeypatch):
    import chat.hub
    from qualification.models import LeadEvent

    published = []
    monkeypatch.setattr(chat.hub, "publish_from_sync", lambda effects: published.append(effects))

    from integrations.models import WebhookDelivery
    from integrations.services import webhook_endpoint_create

    a = make_agency()
    connect(a)
    webhook_endpoint_create(actor=staff_actor(a.admin, a.agency, "admin"), url="https://hooks.example/q",
                            event_types=["lead.qualified"])
    with django_capture_on_commit_callbacks(execute=True):
        lead = qualified_lead_via_chat(a, ip="10.8.0.1")
    assert lead.status == "qualified"
    assert [k["lead_id"] for k in queued.named("integrations.tasks.crm_sync")] == [str(lead.id)]
    with scope(agency=a.agency.id):
        (announced,) = WebhookDelivery.objects.filter(type="lead.qualified")
    assert announced.payload["data"]["lead"] == str(lead.id) and announced.payload["data"]["score"] == lead.score
    assert _run_queued_syncs(queued) == ["synced"]
    # Live consoles learn the new status through `conversation.updated`.
    assert [e.summary["crm"] for e in published] == [{"status": "synced"}]
    assert published[0].summary["lead_id"] == str(lead.id) and published[0].frames == []

    (contact,) = crm.contacts()
    assert (contact["first_name"], contact["last_name"]) == ("Ana", "García López")
    assert [e["email"] for e in contact["emails"]] == ["ana.garcia@correo.es"]
    assert contact["phones"][0]["phone"] == "+34612345678"
    assert contact["company"] == "Panadería Sol"
    assert contact["status"] in ("hot-lead", "warm-lead", "cold-lead")
    assert set(contact["tags"]) >= {"hosteleria", "Markezy"}
    fields = {cf["field"]: cf["value"] for cf in contact["custom_fields"]}
    assert fields["markezy_budget_monthly"] == "2000"
    assert fields["markezy_lead_id"] == str(lead.id)
    assert contact["gdpr_accept"] is True
    (note,) = crm.notes(contact["id"])
    assert note["name"] == "Estrategia Markezy" and "Puntuación Markezy" in note["comment"]
    (deal,) = crm.deals()
    assert deal["amount"] == "2000.00" and deal["contact"] == contact["url"]

    # Later syncs update the same contact: no second contact, deal or (unchanged) note.
    from integrations.services import crm_sync_request

    with django_capture_on_commit_callbacks(execute=True):
        crm_sync_request(lead_id=lead.id, agency_id=a.agency.id)
    assert _run_queued_syncs(queued) == ["synced"]
    assert len(crm.contacts()) == 1 and len(crm.deals()) == 1 and len(crm.notes(contact["id"])) == 1
    assert len(published) == 1  # still synced: nothing new to announce
    assert len(crm.requests(method="POST", path=r"^/contacts/$")) == 1
    assert len(crm.requests(method="PUT", path=rf"^/contacts/{contact['id']}/$")) == 1

    state = _state(lead)
    assert (state.status, state.contact_id, state.deal_id) == ("synced", contact["id"], deal["id"])
    with scopes_disabled():
        assert LeadEvent.objects.filter(lead=lead, type="crm.synced").count() == 1

    from django.core.management import call_command

    call_command("rebuild_leads")  # crm.synced is in the log and the replay still matches

    client, _ = login(a.agent)
    detail = client.get(f"/api/v1/leads/{lead.id}/").json()
    assert detail["crm"]["status"] == "synced" and detail["crm"]["contact_id"] == contact["id"]
    listed = client.get("/api/v1/conversations/").json()["results"]
    assert [c["crm"] for c in listed if c["lead_id"] == str(lead.id)] == [{"status": "synced"}]


def test_timeout_after_commit_does_not_duplicate(make_agency, crm, queued):
    from integrations.services import crm_sync_run

    a = make_agency()
    connect(a)
    lead = qualified_lead_row(a.agency, n=1)
    # Clientify stores the contact, then answers only after our client gave up.
    crm.inject("timeout_after_commit", path=r"^/contacts/$", method="POST", delay=2.0)
    first = crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True)
    assert first.status == "pending" and first.retry_in is not None
    assert len(crm.contacts()) == 1  # it did land upstream
    second = crm_sync_run(lead_id=lead.id, agency_id=a.agency.id)
    assert second.status == "synced"
    assert len(crm.contacts()) == 1
    assert len(crm.requests(method="POST", path=r"^/contacts/$")) == 1
    assert _state(lead).contact_id == crm.contacts()[0]["id"]


def test_retry_after_is_honoured_and_long_waits_are_rescheduled_in_hops(make_agency, crm, queued):
    from datetime import datetime

    from django.utils import timezone

    from integrations.retry import MAX_HOP_SECONDS
    from integrations.tasks import crm_sync
    from project.celery import MAX_COUNTDOWN

    a = make_agency()
    connect(a)
    lead = qualified_lead_row(a.agency, n=2)
    crm.inject("rate_limit", path=r"^/contacts/", retry_after="1200")
    queued.clear()
    assert crm_sync(lead_id=str(lead.id), agency_id=str(a.agency.id), reset=True) == "pending"
    ((kwargs,), (options,)) = queued.named("integrations.tasks.crm_sync"), queued.options
    assert options["countdown"] == MAX_HOP_SECONDS < MAX_COUNTDOWN
    wait = (datetime.fromisoformat(kwargs["due_at"]) - timezone.now()).total_seconds()
    assert 1190 <= wait <= 1202  # Retry-After honoured in full
    # Woken after the first hop, the task waits again instead of calling Clientify.
    calls = len(crm.requests())
    queued.clear()
    assert crm_sync(**kwargs) == "waiting"
    assert len(crm.requests()) == calls
    ((again,), (options,)) = queued.named("integrations.tasks.crm_sync"), queued.options
    assert again["due_at"] == kwargs["due_at"] and options["countdown"] <= MAX_HOP_SECONDS
    # Once due, it runs and syncs.
    kwargs.pop("due_at")
    assert crm_sync(**kwargs) == "synced"


def test_bad_token_is_reported_not_retried(make_agency, crm, queued, login, django_capture_on_commit_callbacks):
    from integrations.models import ClientifyConnection, WebhookDelivery
    from integrations.services import webhook_endpoint_create
    from integrations.tasks import crm_sync

    a = make_agency()
    admin, _ = login(a.admin)
    bad = admin.put("/api/v1/integrations/clientify/", {"api_token": "nope", "enabled": True}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["api_token"]
    connect(a)
    webhook_endpoint_create(actor=staff_actor(a.admin, a.agency, "admin"), url="https://hooks.example/x",
                            event_types=["crm.sync_failed"])
    lead = qualified_lead_row(a.agency, n=3)
    with scope(agency=a.agency.id):  # the token is revoked in Clientify after it was saved
        ClientifyConnection.objects.filter(agency=a.agency).update(api_token="revocado")
    queued.clear()
    before = len(crm.requests())
    with django_capture_on_commit_callbacks(execute=True):
        assert crm_sync(lead_id=str(lead.id), agency_id=str(a.agency.id), reset=True) == "failed"
    assert queued.named("integrations.tasks.crm_sync") == []  # not retried
    assert len(crm.requests()) == before + 1  # the one refused call, not repeated
    state = _state(lead)
    assert state.status == "failed" and state.dead_lettered and state.last_error_status == 401
    with scope(agency=a.agency.id):
        (delivery,) = WebhookDelivery.objects.filter(type="crm.sync_failed")
    assert delivery.payload["data"]["lead"] == str(lead.id) and delivery.payload["data"]["permanent"] is True
    assert len(queued.named("integrations.tasks.webhook_deliver")) == 1
    health = admin.get("/api/v1/integrations/clientify/").json()
    assert "token" in health["health"]["last_error"]
    dead = admin.get("/api/v1/integrations/clientify/dead-letters/").json()["results"]
    assert [d["lead"] for d in dead] == [str(lead.id)]
    # A validation error (400) is permanent too.
    lead2 = qualified_lead_row(a.agency, n=4)
    connect(a)
    crm.inject("error", status=400, path=r"^/contacts/$", method="POST")
    assert crm_sync(lead_id=str(lead2.id), agency_id=str(a.agency.id), reset=True) == "failed"
    assert _state(lead2).last_error_status == 400


def test_erased_lead_is_deleted_upstream_and_never_recreated(make_agency, crm, queued, login, settings, tmp_path,
                                                             django_capture_on_commit_callbacks):
    from integrations.services import crm_sync_request, crm_sync_run
    from integrations.tasks import crm_erase

    settings.ERASURE_LOG_PATH = str(tmp_path / "erasures.jsonl")
    a = make_agency()
    connect(a)
    lead = qualified_lead_via_chat(a, ip="10.8.0.2", email="borrar.me@correo.es")
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    assert len(crm.contacts()) == 1
    owner, _ = login(a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/leads/{lead.id}/").status_code == 204
    (erase,) = queued.named("integrations.tasks.crm_erase")
    crm_erase(**erase)
    assert crm.contacts() == []
    assert len(crm.requests(method="DELETE")) == 1
    # A stale retry, a new request, a manual resync: nothing comes back.
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id).status == "erased"
    with django_capture_on_commit_callbacks(execute=True):
        crm_sync_request(lead_id=lead.id, agency_id=a.agency.id)
    _run_queued_syncs(queued)
    assert owner.post(f"/api/v1/leads/{lead.id}/resync/").status_code == 409
    assert crm.contacts() == []
    assert _state(lead).status == "erased" and _state(lead).email_sent == ""


def test_outage_breaker_limits_calls_and_everything_syncs_after(make_agency, crm, queued, settings, login):
    from integrations.services import crm_sync_run

    settings.CRM_BREAKER_THRESHOLD = 3
    settings.CRM_BREAKER_COOLDOWN_SECONDS = 0.3
    a = make_agency()
    connect(a)
    leads = [qualified_lead_row(a.agency, n=10 + i) for i in range(10)]
    before = len(crm.requests())
    crm.inject("error", status=503, times=None)
    outage_started = time.monotonic()
    statuses = [crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status for lead in leads]
    assert statuses[:3] == ["pending"] * 3 and set(statuses[3:]) == {"breaker_open"}
    admin, _ = login(a.admin)
    assert admin.get("/api/v1/integrations/clientify/").json()["health"]["breaker"]["state"] == "open"
    # The outage goes on: every lead keeps retrying, as fast as the test can.
    while time.monotonic() - outage_started < 1.5:
        for lead in leads:
            crm_sync_run(lead_id=lead.id, agency_id=a.agency.id)
    outage = time.monotonic() - outage_started
    calls_during_outage = len(crm.requests()) - before
    # Three to open it, then one probe per cool-down at most.
    assert calls_during_outage <= 3 + outage / 0.3 + 1
    assert calls_during_outage < 10 * 3  # far fewer than one call per lead per round
    crm.clear_faults()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        results = [crm_sync_run(lead_id=lead.id, agency_id=a.agency.id).status for lead in leads]
        if set(results) == {"synced"}:
            break
        time.sleep(0.1)
    assert set(results) == {"synced"}
    assert len(crm.contacts()) == 10
    health = admin.get("/api/v1/integrations/clientify/").json()["health"]
    assert health["breaker"]["state"] == "closed" and health["consecutive_failures"] == 0
    assert health["last_success"] is not None


def test_connecting_clientify_queues_qualified_leads_not_synced_yet(make_agency, crm, queued,
                                                                   django_capture_on_commit_callbacks):
    from integrations.services import crm_sync_run

    a = make_agency()
    waiting = qualified_lead_row(a.agency, n=40)
    assert crm_sync_run(lead_id=waiting.id, agency_id=a.agency.id, reset=True).status == "not_connected"
    with django_capture_on_commit_callbacks(execute=True):
        connect(a)
    assert [k["lead_id"] for k in queued.named("integrations.tasks.crm_sync")] == [str(waiting.id)]
    assert _run_queued_syncs(queued) == ["synced"]
    assert len(crm.contacts()) == 1


def test_a_correction_after_qualification_updates_the_same_contact(make_agency, crm, queued,
                                                                  django_capture_on_commit_callbacks):
    import uuid

    from chat.services import lead_message_receive
    from tenancy.actors import VisitorActor

    a = make_agency()
    connect(a)
    with django_capture_on_commit_callbacks(execute=True):
        lead = qualified_lead_via_chat(a, ip="10.8.0.3")
    _run_queued_syncs(queued)
    (contact,) = crm.contacts()
    assert contact["company"] == "Panadería Sol"
    with scopes_disabled():
        conversation = lead.conversation
    visitor = VisitorActor(agency_id=a.agency.id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    with django_capture_on_commit_callbacks(execute=True):
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text="Perdona, mi empresa es Horno Luna")
    assert queued.named("integrations.tasks.crm_sync"), "a correction must queue a sync"
    assert _run_queued_syncs(queued)[-1] == "synced"
    (contact,) = crm.contacts()
    assert contact["company"] == "Horno Luna"
    assert len(crm.deals()) == 1


def test_strategy_summary_and_pdf_link_become_a_new_note(make_agency, crm, queued, monkeypatch):
    import sys
    import types

    from integrations.services import crm_sync_run

    a = make_agency()
    connect(a)
    lead = qualified_lead_row(a.agency, n=50)
    notes: dict = {}
    # The strategy pipeline's read (it lands separately): what it returns goes into the note.
    fake = types.ModuleType("strategy.selectors")
    fake.strategy_crm_note = lambda *, agency_id, lead_id: notes.get(str(lead_id))
    monkeypatch.setitem(sys.modules, "strategy.selectors", fake)
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    (contact,) = crm.contacts()
    (first,) = crm.notes(contact["id"])
    assert "La estrategia aún no está lista." in first["comment"]
    notes[str(lead.id)] = {"summary": "Campaña local en redes con reservas online.",
                           "pdf_url": "https://app.example/s/abc.pdf"}
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    assert len(crm.contacts()) == 1 and len(crm.deals()) == 1
    first, second = crm.notes(contact["id"])
    assert "Campaña local en redes con reservas online." in second["comment"]
    assert "https://app.example/s/abc.pdf" in second["comment"]
    # The same strategy again adds nothing.
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    assert len(crm.notes(contact["id"])) == 2


def test_a_lost_deal_answer_does_not_open_a_second_deal(make_agency, crm, queued):
    from integrations.services import crm_sync_run

    a = make_agency()
    connect(a)
    lead = qualified_lead_row(a.agency, n=60)
    crm.inject("drop_after_commit", path=r"^/deals/$", method="POST")
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "pending"
    assert len(crm.deals()) == 1  # it landed, we never heard
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id).status == "synced"
    (deal,) = crm.deals()
    assert _state(lead).deal_id == deal["id"]
    assert len(crm.requests(method="POST", path=r"^/deals/$")) == 1


def test_withdrawing_consent_stops_the_crm_sync(make_agency, crm, queued, django_capture_on_commit_callbacks):
    """RGPD: once the lead withdraws consent, a sync still queued (or a retry)
    sends nothing more to Clientify, and the consent record is kept as given."""
    from tenancy.actors import VisitorActor
    from qualification.models import ConsentRecord
    from qualification.services import qualification_consent

    a = make_agency()
    connect(a)
    with django_capture_on_commit_callbacks(execute=True):
        lead = qualified_lead_via_chat(a, ip="10.8.0.9")
    assert queued.named("integrations.tasks.crm_sync")  # queued at qualification, not run yet
    conversation = lead.conversation
    visitor = VisitorActor(agency_id=lead.agency_id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    qualification_consent(visitor=visitor, granted=False, policy="1")
    _run_queued_syncs(queued)
    assert crm.contacts() == []
    with scopes_disabled():
        records = list(ConsentRecord.objects.filter(conversation=conversation).order_by("created")
                       .values_list("granted", flat=True))
    assert records == [True, False]
