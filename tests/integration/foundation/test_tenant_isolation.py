"""Agency A can read, write or probe nothing of agency B's, on every object
endpoint of the API — discovered from the URL conf, so a new endpoint is
covered the day it is added (and fails here until its ids are known)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_scopes import scopes_disabled

pytestmark = pytest.mark.django_db

METHODS = ("get", "put", "patch", "delete", "post")


def _api_patterns() -> list[str]:
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/v1/") and "<" in route:
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return found


def _objects_of(agency_users) -> dict[str, str]:
    """An id of each kind of object the agency owns, by URL parameter name."""
    from chat.services import widget_session_open
    from qualification.models import FlowVersion, Lead
    from tenancy.models import AllowedOrigin, Invitation, Membership

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="", locale="es", ip=f"10.1.1.{uuid.uuid4().int % 200}")
    with scopes_disabled():
        ids = {
            "key_id": str(agency_users.key.id),
            "origin_id": str(AllowedOrigin.objects.filter(agency=agency_users.agency).first().id),
            "conversation_id": str(session.conversation.id),
            "lead_id": str(Lead.objects.get(conversation=session.conversation).id),
            "membership_id": str(Membership.objects.get(agency=agency_users.agency, user=agency_users.admin).id),
            "version_id": str(FlowVersion.objects.filter(agency=agency_users.agency).first().id),
            "invitation_id": str(Invitation.objects.create(
                agency=agency_users.agency, email=f"inv-{uuid.uuid4().hex[:8]}@example.com", role="agent",
                token_hash=uuid.uuid4().hex * 2, expires=timezone.now() + timedelta(days=1)).id),
            "document_id": str(_knowledge_document(agency_users.agency).id),
        }
        from strategy.models import Strategy

        ids["strategy_id"] = str(Strategy.objects.create(
            agency=agency_users.agency, lead_id=ids["lead_id"], answers_version=0, status=Strategy.Status.READY,
            pdf_name=f"strategies/{agency_users.agency.id}/x.pdf").id)
    try:
        from integrations.models import WebhookDelivery, WebhookEndpoint
    except ImportError:
        return ids
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(agency=agency_users.agency, url="https://hooks.example/b",
                                                  secret="whsec_b")
        delivery = WebhookDelivery.objects.create(agency=agency_users.agency, endpoint=endpoint,
                                                  event_id=uuid.uuid4(), type="lead.qualified", payload={})
    ids.update(endpoint_id=str(endpoint.id), delivery_id=str(delivery.id))
    return ids


def _knowledge_document(agency):
    from strategy.models import KnowledgeDocument

    return KnowledgeDocument.objects.create(
        agency=agency, title="Tarifas", filename="tarifas.md", kind="markdown", content_type="text/markdown",
        size=10, sha256=uuid.uuid4().hex * 2, file=f"knowledge/{agency.id}/{uuid.uuid4()}",
    )


def _fill(route: str, ids: dict[str, str]) -> str:
    def sub(match):
        name = match.group(2)
        if name not in ids:
            pytest.fail(f"{route}: no object id known for <{name}>; teach _objects_of() about it")
        return ids[name]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)


def test_every_object_endpoint_answers_404_for_another_agency(two_agencies, login):
    a, b = two_agencies
    owner_a, _ = login(a.owner)
    b_ids = _objects_of(b)
    missing = {name: str(uuid.uuid4()) for name in b_ids}
    # An invitation's token is a credential of its own, not an agency's object
    # (tests/integration/selfservice/test_members.py covers it).
    routes = [r for r in _api_patterns()
              if not r.startswith(("api/v1/webhooks/clientify/", "api/v1/invitations/"))]
    assert any("conversations" in r for r in routes) and any("leads" in r for r in routes)
    for route in routes:
        for method in METHODS:
            response = getattr(owner_a, method)(_fill(route, b_ids), {}, format="json")
            if response.status_code == 405:
                continue
            assert response.status_code == 404, (method, route, response.status_code, response.content[:200])
            twin = getattr(owner_a, method)(_fill(route, missing), {}, format="json")
            assert twin.status_code == 404 and twin.json() == response.json(), (method, route)


def test_lists_and_search_show_only_own_agency(two_agencies, login):
    a, b = two_agencies
    _objects_of(a)
    b_ids = _objects_of(b)
    owner_a, _ = login(a.owner)
    conversations = owner_a.get("/api/v1/conversations/").json()["results"]
    leads = owner_a.get("/api/v1/leads/").json()["results"]
    assert conversations and leads
    assert b_ids["conversation_id"] not in {c["id"] for c in conversations}
    assert b_ids["lead_id"] not in {lead["id"] for lead in leads}
