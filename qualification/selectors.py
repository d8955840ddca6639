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
        # A preview's lead is the flow engine's bookkeeping, not a lead: it answers like a missing one.
        qs = Lead.objects.select_related("conversation").filter(id=lead_id, conversation__is_preview=False)
        if lock:
            qs = qs.select_for_update()
        lead = qs.first()
    if lead is None:
        raise NotFound()
    return lead


def leads_list(actor: StaffActor, *, status: str | None = None, sector: str | None = None):
    with scope(agency=actor.agency_id):
        qs = Lead.objects.select_related("conversation", "crm_sync")
        # Naming the previews' ids keeps the list's plan on the lead index, where a
        # join condition made MariaDB start from the conversations.
        from chat.selectors import conversation_preview_ids

        previews = conversation_preview_ids(agency_id=actor.agency_id)
        if previews:
            qs = qs.exclude(conversation_id__in=previews)
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


def lead_export(actor: StaffActor, lead: Lead) -> dict:
    """Everything about one lead and only that lead (RGPD portability). Staff
    notes are the agency's, not the lead's: they are not part of it."""
    from chat.models import Turn
    from qualification.models import ConsentRecord

    with scope(agency=actor.agency_id):
        turns = Turn.objects.filter(conversation_id=lead.conversation_id).order_by("seq")
        consents = ConsentRecord.objects.filter(conversation_id=lead.conversation_id).order_by("created")
        events = LeadEvent.objects.filter(lead=lead).order_by("seq")
        conversation = lead.conversation
        return {
            "format": "markezy.lead-export.v1",
            "lead": {
                "id": str(lead.id), "status": lead.status, "created": lead.created.isoformat(),
                "qualified_at": lead.qualified_at.isoformat() if lead.qualified_at else None,
                "answers": lead.answers or {}, "score": lead.score, "score_reasons": lead.score_reasons or [],
            },
            "conversation": {
                "id": str(conversation.id), "created": conversation.created.isoformat(), "page_url": conversation.page_url,
                "turns": [{"seq": t.seq, "role": t.role, "text": t.text, "created": t.created.isoformat()} for t in turns],
            },
            "consents": [{"granted": c.granted, "policy_version": c.policy_version, "policy_url": c.policy_url,
                          "text": c.text, "at": c.created.isoformat()} for c in consents],
            "events": [{"seq": e.seq, "type": e.type, "data": e.data, "at": e.created.isoformat()} for e in events],
            "strategies": _strategy_history(lead),
            "crm_sync": _crm_history(lead),
        }


def _strategy_history(lead: Lead) -> list[dict]:
    try:
        from strategy.selectors import strategy_history_for_lead
    except ImportError:  # the strategy pipeline is not installed in this build
        return []
    return strategy_history_for_lead(lead)


def _crm_history(lead: Lead) -> list[dict]:
    try:
        from integrations.selectors import crm_history_for_lead
    except ImportError:  # the CRM sync is not installed in this build
        return []
    return crm_history_for_lead(lead)


def flow_overview(actor: StaffActor) -> dict:
    """The agency's flow with its versions, newest first; `current` marks the
    version new conversations start on."""
    from project.api.errors import NotFound
    from qualification.models import Flow

    with scope(agency=actor.agency_id):
        flow = Flow.objects.filter(is_default=True).first()
        if flow is None:
            raise NotFound()
        versions = list(flow.versions.order_by("-number").select_related("created_by", "published_by")
                        .only("id", "number", "status", "created", "published_at", "created_by__id", "created_by__name",
                              "created_by__email", "published_by__id", "published_by__name", "published_by__email"))
    current = next((v.id for v in versions if v.status == FlowVersion.Status.PUBLISHED), None)
    return {"id": flow.id, "name": flow.name, "current_version": current, "versions": versions}


def access_flow_version(actor: StaffActor, version_id) -> FlowVersion:
    from tenancy.selectors import _uuid

    with scope(agency=actor.agency_id):
        try:
            return FlowVersion.objects.select_related("flow", "created_by", "published_by").get(id=_uuid(version_id))
        except FlowVersion.DoesNotExist:
            raise NotFound() from None
