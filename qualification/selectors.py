"""Reads of leads and flows."""

from __future__ import annotations

import uuid

from django_scopes import scope

from project.api.errors import NotFound
from qualification.models import FlowVersion, Lead, LeadEvent
from tenancy.actors import StaffActor


def lead_for_conversation(conversation) -> Lead | None:
    with scope(agency=conversation.agency_id):
        return Lead.objects.filter(conversation_id=conversation.id).first()


def access_lead(actor: StaffActor, lead_id, *, lock: bool = False) -> Lead:
    try:
        lead_id = lead_id if isinstance(lead_id, uuid.UUID) else uuid.UUID(str(lead_id))
    except (ValueError, TypeError):
        raise NotFound() from None
    with scope(agency=actor.agency_id):
        qs = Lead.objects.select_related("conversation").filter(id=lead_id)
        if lock:
            qs = qs.select_for_update()
        lead = qs.first()
    if lead is None:
        raise NotFound()
    return lead


def leads_list(actor: StaffActor, *, status: str | None = None, sector: str | None = None):
    with scope(agency=actor.agency_id):
        qs = Lead.objects.select_related("conversation")
        if status:
            qs = qs.filter(status=status)
        if sector:
            qs = qs.filter(sector=sector)
        return qs


def lead_events(actor: StaffActor, lead: Lead):
    with scope(agency=actor.agency_id):
        return LeadEvent.objects.filter(lead=lead).order_by("seq")


def lead_events_all(lead: Lead) -> list[tuple[str, dict, str]]:
    """(type, data, created) in order, for replays (`rebuild_leads`)."""
    with scope(agency=lead.agency_id):
        return [(t, d, c.isoformat()) for t, d, c in LeadEvent.objects.filter(lead=lead).order_by("seq").values_list("type", "data", "created")]


def flow_versions(actor: StaffActor):
    with scope(agency=actor.agency_id):
        return FlowVersion.objects.select_related("flow").order_by("flow_id", "-number")
