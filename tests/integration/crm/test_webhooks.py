"""Outbound webhooks against a real loopback receiver, the integration API's
roles and tenant isolation, and Clientify's inbound hooks."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from tests.integration.crm.helpers import connect, qualified_lead_row

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[3] / "README.md"


class Receiver:
    """A webhook receiver on loopback that answers `status` and records every request."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/markezy"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _readme_verifier():
    """The verification snippet of README.md, executed as a receiver would paste it."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- webhook-verify:start -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert block, "README.md lost its webhook verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - the point of the test
    return namespace["markezy_signature_ok"]


def _deliver_queued(queued):
    from integrations.tasks import webhook_deliver

    batch = queued.named("integrations.tasks.webhook_deliver")
    queued.clear()
    for kwargs in batch:
        kwargs.pop("due_at", None)
        webhook_deliver(**kwargs)
    return batch


def test_delivery_signature_verifies_with_the_readme_snippet(make_agency, login, queued,
                                                             django_capture_on_commit_callbacks):
    from integrations.services import webhook_emit

    verify = _readme_verifier()
    a = make_agency()
    admin, _ = login(a.admin)
    with Receiver() as receiver:
        created = admin.post("/api/v1/webhooks/", {"url": receiver.url, "event_types": ["lead.qualified"]},
                             format="json")
        assert created.status_code == 201, created.content
        endpoint = created.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        assert "secret" not in admin.get(f"/api/v1/webhooks/{endpoint['id']}/").json()
        with django_capture_on_commit_callbacks(execute=True):
            webhook_emit(agency_id=a.agency.id, type="lead.qualified", data={"lead": "l-1", "score": 80})
            webhook_emit(agency_id=a.agency.id, type="lead.erased", data={"lead": "l-1"})  # not subscribed
        assert len(_deliver_queued(queued)) == 1
        ((headers, body),) = receiver.received
    assert verify(body, headers["markezy-signature"], secret)
    assert not verify(body + b" ", headers["markezy-signature"], secret)
    assert not verify(body, headers["markezy-signature"], "whsec_otro")
    payload = json.loads(body)
    assert payload["type"] == "lead.qualified" and payload["data"] == {"lead": "l-1", "score": 80}
    assert payload["agency"] == str(a.agency.id) and headers["markezy-event-id"] == payload["id"]
    assert set(payload) == {"id", "type", "created", "agency", "data"}
    deliveries = admin.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"]
    assert [(d["status"], d["attempts"], d["response_code"]) for d in deliveries] == [("delivered", 1, 200)]


def test_rotated_secret_signs_with_both_for_a_while(make_agency, login, queued, django_capture_on_commit_callbacks):
    from integrations.services import webhook_emit

    verify = _readme_verifier()
    a = make_agency()
    admin, _ = login(a.admin)
    with Receiver() as receiver:
        endpoint = admin.post("/api/v1/webhooks/", {"url": receiver.url, "event_types": []}, format="json").json()
        rotated = admin.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret/").json()
        assert rotated["secret"] != endpoint["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            webhook_emit(agency_id=a.agency.id, type="strategy.ready", data={"lead": "l-2"})
        _deliver_queued(queued)
        ((headers, body),) = receiver.received
    assert verify(body, headers["markezy-signature"], rotated["secret"])
    assert verify(body, headers["markezy-signature"], endpoint["secret"])


def test_failing_endpoint_is_retried_then_dead_lettered_and_replayable(make_agency, login, queued, settings,
                                                                      django_capture_on_commit_callbacks):
    from integrations.models import WebhookDelivery
    from integrations.services import webhook_deliver_run, webhook_emit

    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.01
    a = make_agency()
    admin, _ = login(a.admin)
    with Receiver(status=500) as receiver:
        endpoint = admin.post("/api/v1/webhooks/", {"url": receiver.url, "event_types": ["lead.erased"]},
                              format="json").json()
        with django_capture_on_commit_callbacks(execute=True):
            webhook_emit(agency_id=a.agency.id, type="lead.erased", data={"lead": "l-3"})
        (job,) = queued.named("integrations.tasks.webhook_deliver")
        delays = [webhook_deliver_run(**job) for _ in range(3)]
        assert all(d is not None and d > 0 for d in delays)  # retried, with growing backoff
        with scope(agency=a.agency.id):
            delivery = WebhookDelivery.objects.get(id=job["delivery_id"])
            assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 3, 500)
            # A day later it is still failing: the next failure ends the retry window.
            WebhookDelivery.objects.filter(id=delivery.id).update(
                window_started_at=timezone.now() - timedelta(hours=24))
        assert webhook_deliver_run(**job) is None
        assert len(receiver.received) == 4
        assert len({h["markezy-event-id"] for h, _ in receiver.received}) == 1  # one event, four attempts
        listed = admin.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"]
        assert [(d["status"], d["dead_lettered"], d["attempts"]) for d in listed] == [("dead", True, 4)]
        # A dead delivery is not retried by a stale task...
        assert webhook_deliver_run(**job) is None and len(receiver.received) == 4
        # ...but can be replayed once the receiver is fixed.
        receiver.status = 204
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            replay = admin.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{job['delivery_id']}/replay/")
        assert replay.status_code == 202 and replay.json()["status"] == "pending"
        _deliver_queued(queued)
        assert len(receiver.received) == 5
    listed = admin.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"]
    assert [(d["status"], d["response_code"]) for d in listed] == [("delivered", 204)]


def test_agency_b_cannot_see_or_touch_agency_a(two_agencies, login, crm, queued,
                                              django_capture_on_commit_callbacks):
    from integrations.services import webhook_emit

    a, b = two_agencies
    connect(a)
    lead = qualified_lead_row(a.agency, n=1)
    admin_a, _ = login(a.admin)
    admin_b, _ = login(b.admin)
    endpoint = admin_a.post("/api/v1/webhooks/", {"url": "https://hooks.example/a", "event_types": []},
                            format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(agency_id=a.agency.id, type="lead.qualified", data={"lead": str(lead.id)})
    delivery_id = admin_a.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/").json()["results"][0]["id"]

    assert admin_b.get("/api/v1/webhooks/").json()["results"] == []
    base = f"/api/v1/webhooks/{endpoint['id']}/"
    for response in (
        admin_b.get(base),
        admin_b.patch(base, {"active": False}, format="json"),
        admin_b.delete(base),
        admin_b.post(base + "rotate-secret/"),
        admin_b.get(base + "deliveries/"),
        admin_b.post(base + f"deliveries/{delivery_id}/replay/"),
        admin_b.post(f"/api/v1/leads/{lead.id}/resync/"),
    ):
        assert response.status_code == 404, response.content
    b_view = admin_b.get("/api/v1/integrations/clientify/").json()
    assert b_view["connected"] is False and b_view["api_token"] is None
    assert admin_b.get("/api/v1/integrations/clientify/dead-letters/").json()["results"] == []
    # A's endpoint is untouched.
    assert admin_a.get(base).json()["active"] is True


def test_roles_and_the_token_never_returned(make_agency, login, crm, queued):
    a = make_agency()
    agent, _ = login(a.agent)
    viewer, _ = login(a.viewer)
    admin, _ = login(a.admin)
    body = {"api_token": "tok-agencia-a", "enabled": True}
    assert agent.put("/api/v1/integrations/clientify/", body, format="json").status_code == 403
    assert agent.post("/api/v1/webhooks/", {"url": "https://h.example/", "event_types": []},
                      format="json").status_code == 403
    saved = admin.put("/api/v1/integrations/clientify/", {**body, "field_mapping": {"extra_tags": ["Web"]}},
                      format="json")
    assert saved.status_code == 200, saved.content
    assert "tok-agencia-a" not in saved.content.decode()
    assert saved.json()["api_token"] == {"set": True, "last4": "ia-a"}
    assert saved.json()["inbound_webhook_url"].startswith("http")
    seen = viewer.get("/api/v1/integrations/clientify/")
    assert seen.status_code == 200 and seen.json()["enabled"] is True and seen.json()["inbound_webhook_url"] is None
    assert "tok-agencia-a" not in seen.content.decode()
    bad_mapping = admin.put("/api/v1/integrations/clientify/", {"enabled": True, "field_mapping": {"nope": 1}},
                            format="json")
    assert bad_mapping.status_code == 400 and "field_mapping.nope" in bad_mapping.json()["error"]["fields"]
    # Toggling without a token keeps the stored one.
    assert admin.put("/api/v1/integrations/clientify/", {"enabled": False}, format="json").json()["connected"]
    from integrations.models import ClientifyConnection

    with scopes_disabled():
        stored = ClientifyConnection.objects.values_list("api_token", flat=True).get(agency=a.agency)
    assert stored == "tok-agencia-a"  # decrypted by the field; the column holds ciphertext
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute("SELECT api_token FROM integrations_clientifyconnection WHERE agency_id = %s",
                       [a.agency.id.hex])
        (raw,) = cursor.fetchone()
    assert raw.startswith("gAAAA") and "tok-agencia" not in raw


def test_inbound_hooks_reflect_the_crm_status(make_agency, login, crm, queued):
    from integrations.services import crm_sync_run
    from qualification.models import LeadEvent

    a = make_agency()
    connection = connect(a)
    lead = qualified_lead_row(a.agency, n=5)
    assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    (contact,) = crm.contacts()
    (deal,) = crm.deals()
    url = f"/api/v1/webhooks/clientify/{connection.inbound_secret}"
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.post("/api/v1/webhooks/clientify/" + "x" * 32, {"hook": {"event": "deal.saved"}, "data": {}},
                          format="json").status_code == 404
    unknown = anonymous.post(url, {"hook": {"event": "company.saved"}, "data": {"id": 1}}, format="json")
    assert unknown.status_code == 200 and unknown.json()["handled"] is False
    saved = anonymous.post(url, {"hook": {"event": "contact.saved"}, "data": {"id": contact["id"], "status": "in-deal"}},
                           format="json")
    assert saved.json()["handled"] is True
    won = anonymous.post(url, {"hook": {"event": "deal.saved"},
                               "data": {"id": deal["id"], "contact": contact["url"], "status": 2, "status_desc": "Won"}},
                         format="json")
    assert won.status_code == 200 and won.json()["handled"] is True
    agent, _ = login(a.agent)
    crm_view = agent.get(f"/api/v1/leads/{lead.id}/").json()["crm"]
    assert (crm_view["deal_status"], crm_view["contact_status"]) == ("won", "in-deal")
    with scopes_disabled():
        assert LeadEvent.objects.filter(lead=lead, type="crm.deal_won").count() == 1
    # Another agency's contact ids mean nothing here.
    other = anonymous.post(url, {"hook": {"event": "deal.saved"}, "data": {"id": 999999, "contact": 999998,
                                                                          "status_desc": "Lost"}}, format="json")
    assert other.json()["handled"] is False


def test_lead_list_carries_the_crm_state_without_a_query_per_lead(make_agency, login, crm, queued,
                                                                 django_assert_max_num_queries):
    from integrations.services import crm_sync_run

    a = make_agency()
    connect(a)
    leads = [qualified_lead_row(a.agency, n=60 + i) for i in range(6)]
    for lead in leads[:3]:
        assert crm_sync_run(lead_id=lead.id, agency_id=a.agency.id, reset=True).status == "synced"
    agent, _ = login(a.agent)
    agent.get("/api/v1/leads/")  # warm caches (auth, throttles)
    with django_assert_max_num_queries(8):
        results = agent.get("/api/v1/leads/").json()["results"]
    by_id = {r["id"]: r["crm"] for r in results}
    assert [by_id[str(lead.id)]["status"] for lead in leads[:3]] == ["synced"] * 3
    assert [by_id[str(lead.id)] for lead in leads[3:]] == [None] * 3
