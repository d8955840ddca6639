"""Staff REST: leads and their event log (CONTRACT §5)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from project.api.pagination import CursorPagination
from project.api.views import AgencyAPIView
from qualification import selectors


def lead_detail_data(lead) -> dict:
    return {
        "id": str(lead.id),
        "conversation": str(lead.conversation_id),
        "status": lead.status,
        "answers": lead.answers or {},
        "answers_version": lead.answers_version,
        "name": lead.name or None,
        "company": lead.company or None,
        "email": lead.email or None,
        "phone": lead.phone or None,
        "sector": lead.sector or None,
        "budget_monthly": float(lead.budget_monthly) if lead.budget_monthly is not None else None,
        "score": lead.score,
        "score_reasons": lead.score_reasons or [],
        "consent": {"granted": lead.consent_granted, "policy": lead.consent_policy or None,
                    "at": lead.consent_at.isoformat() if lead.consent_at else None},
        "qualified_at": lead.qualified_at.isoformat() if lead.qualified_at else None,
        "created": lead.created.isoformat(),
        "updated": lead.updated.isoformat(),
    }


def _strategy_brief(lead) -> dict | None:
    try:
        from strategy.selectors import strategy_brief, strategy_latest_for_lead
    except ImportError:  # the strategy pipeline is not installed in this build
        return None
    return strategy_brief(strategy_latest_for_lead(agency_id=lead.agency_id, lead_id=lead.id))


class LeadListApi(AgencyAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["collecting", "qualified", "declined", "erased"]),
                    OpenApiParameter("sector", str)],
        responses={200: OpenApiTypes.OBJECT}, operation_id="leads_list",
    )
    def get(self, request):
        qs = selectors.leads_list(self.actor, status=request.query_params.get("status"),
                                  sector=request.query_params.get("sector"))
        paginator = CursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([lead_detail_data(lead) for lead in page])


class LeadDetailApi(AgencyAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request, lead_id):
        """RGPD erasure (owner)."""
        from qualification.services import lead_erase

        lead_erase(actor=self.actor, lead_id=lead_id)
        return Response(status=204)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, lead_id):
        lead = selectors.access_lead(self.actor, lead_id)
        from tenancy.audit import audit_record

        audit_record(agency_id=self.actor.agency_id, actor_user_id=self.actor.user_id, action="lead.view",
                     target=str(lead.id))
        return Response({**lead_detail_data(lead), "strategy": _strategy_brief(lead)})


class LeadEventsApi(AgencyAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, lead_id):
        lead = selectors.access_lead(self.actor, lead_id)
        events = selectors.lead_events(self.actor, lead)
        return Response({"results": [
            {"id": str(e.id), "seq": e.seq, "type": e.type, "data": e.data, "actor": e.actor,
             "created": e.created.isoformat()} for e in events
        ]})


class LeadExportApi(AgencyAPIView):
    from tenancy.permissions import role_required

    permission_classes = [role_required("admin")]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, lead_id):
        from tenancy.audit import audit_record

        lead = selectors.access_lead(self.actor, lead_id)
        document = selectors.lead_export(self.actor, lead)
        audit_record(agency_id=self.actor.agency_id, actor_user_id=self.actor.user_id, action="lead.export",
                     target=str(lead.id))
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="lead-{lead.id}.json"'
        return response

