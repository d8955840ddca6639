"""The beat's integrations_reconcile: a CRM sync or webhook delivery whose
task was lost (the broker away at a commit or at a retry's hop) is queued
again from the rows; what is on time, done or dead-lettered is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from tests.integration.crm.helpers import connect, qualified_lead_row, staff_actor

pytestmark = pytest.mark.django_db

SYNC = "integrations.tasks.crm_sync"
DELIVER = "integrations.tasks.webhook_deliver"


def _age(model, ids, **fields):
    with scopes_disabled():
        model.objects.filter(id__in=ids).update(**fields)


def test_a_lead_no_sync_has_seen_and_an_overdue_sync_are_queued_again(make_agency, crm, queued):
    from integrations.models import CrmSync
    from integrations.services import crm_sync_run, integrations_reconcile
    from qualification.models import Lead

    a = make_agency()
    connect(a)
    unseen, failing, synced = (qualified_lead_row(a.agency, n=n) for n in (1, 2, 3))
    crm.inject("error", status=503, times=1)
    assert crm_sync_run(lead_id=failing.id, agency_id=a.agency.id, reset=True).status == "pending"
    assert crm_sync_run(lead_id=synced.id, agency_id=a.agency.id, reset=True).status == "synced"
    queued.clear()

    # Right now everything may still be on its way: nothing to do.
    assert integrations_reconcile() == {"unrequested": 0, "syncs": 0, "deliveries": 0}

    ago = timezone.now() - timedelta(minutes=10)
    _age(Lead, [unseen.id, failing.id, synced.id], updated=ago)
    with scopes_disabled():
        _age(CrmSync, list(CrmSync.objects.filter(lead__in=[failing, synced]).values_list("id", flat=True)),
             updated=ago, next_attempt_at=ago)
    # The synced one's next_attempt_at is irrelevant: only pending syncs are looked at.
    assert integrations_reconcile() == {"unrequested": 1, "syncs": 1, "deliveries": 0}
    calls = {c["lead_id"]: c for c in queued.named(SYNC)}
    assert calls[str(unseen.id)]["reset"] is True  # a fresh request
    assert calls[str(failing.id)].get("reset", False) is False  # the same series of attempts goes on
    assert str(synced.id) not in calls

    # Once the tasks ran, there is nothing left to find.
    for lead in (unseen, failing):
        assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id).status == "synced"
    queued.clear()
    assert integrations_reconcile() == {"unrequested": 0, "syncs": 0, "deliveries": 0}


def test_an_agency_without_clientify_has_no_sync_to_reconcile(make_agency, queued):
    from integrations.services import integrations_reconcile
    from qualification.models import Lead

    a = make_agency()
    lead = qualified_lead_row(a.agency, n=1)
    _age(Lead, [lead.id], updated=timezone.now() - timedelta(minutes=10))
    assert integrations_reconcile()["unrequested"] == 0


def test_a_webhook_delivery_whose_task_was_lost_is_queued_again(make_agency, queued, django_capture_on_commit_callbacks):
    from integrations.models import WebhookDelivery
    from integrations.services import integrations_reconcile, webhook_emit, webhook_endpoint_create

    a = make_agency()
    admin = staff_actor(a.admin, a.agency, "admin")
    webhook_endpoint_create(actor=admin, url="https://hooks.example.com/markezy", event_types=["lead.qualified"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(agency_id=a.agency.id, type="lead.qualified", data={"lead": "l-1"})
    with scope(agency=a.agency.id):
        delivery = WebhookDelivery.objects.get()
    queued.clear()
    assert integrations_reconcile()["deliveries"] == 0
    _age(WebhookDelivery, [delivery.id], window_started_at=timezone.now() - timedelta(minutes=10))
    assert integrations_reconcile()["deliveries"] == 1
    assert queued.named(DELIVER) == [{"delivery_id": str(delivery.id), "agency_id": str(a.agency.id)}]

    # Dead-lettered or delivered: left alone.
    queued.clear()
    _age(WebhookDelivery, [delivery.id], status=WebhookDelivery.Status.DELIVERED)
    assert integrations_reconcile()["deliveries"] == 0 and not queued.named(DELIVER)


def test_the_qualified_webhook_is_stored_with_the_qualification_itself(make_agency, queued):
    """No after-commit hook runs here (the test's transaction never commits):
    the `lead.qualified` delivery exists all the same, so a hook lost between
    commit and enqueue leaves a row for the reconcile to find."""
    from integrations.models import WebhookDelivery
    from integrations.services import webhook_endpoint_create
    from tests.integration.crm.helpers import qualified_lead_via_chat

    a = make_agency()
    webhook_endpoint_create(actor=staff_actor(a.admin, a.agency, "admin"), url="https://hooks.example.com/q",
                            event_types=["lead.qualified"])
    lead = qualified_lead_via_chat(a, ip="10.8.0.9")
    assert not queued.named(DELIVER)  # its task waits for a commit that never comes
    with scope(agency=a.agency.id):
        (delivery,) = WebhookDelivery.objects.filter(type="lead.qualified")
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.payload["data"]["lead"] == str(lead.id)
