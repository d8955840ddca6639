"""Staff REST: leads, their event log, and the versioned flows (CONTRACT §5)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from project.api.pagination import CursorPagination
from project.api.views import AgencyAPIView
from qualification import selectors
from tenancy.permissions import role_required


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
        "crm": _crm(lead),
        "created": lead.created.isoformat(),
        "updated": lead.updated.isoformat(),
    }


def _strategy_brief(lead) -> dict | None:
    try:
        from strategy.selectors import strategy_brief, strategy_latest_for_lead
    except ImportError:  # the strategy pipeline is not installed in this build
        return None
    return strategy_brief(strategy_latest_for_lead(agency_id=lead.agency_id, lead_id=lead.id))


def _crm(lead) -> dict | None:
    try:
        from integrations.selectors import crm_for_lead
    except ImportError:  # the CRM sync is not installed in this build
        return None
    return crm_for_lead(agency_id=lead.agency_id, lead_id=lead.id, lead=lead)


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



# --- Flows (CONTRACT §5 `flows/`, issue 11) ------------------------------------------

class FlowVersionSerializer(serializers.Serializer):
    class Meta:
        ref_name = "FlowVersionSummary"

    id = serializers.UUIDField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    created = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.SerializerMethodField()
    published_by = serializers.SerializerMethodField()

    @extend_schema_field(inline_serializer("FlowVersionAuthor", {"id": serializers.UUIDField(),
                                                                  "name": serializers.CharField()}, allow_null=True))
    def get_created_by(self, version):
        return _author(version.created_by) if version.created_by_id else None

    @extend_schema_field(inline_serializer("FlowVersionPublisher", {"id": serializers.UUIDField(),
                                                                     "name": serializers.CharField()}, allow_null=True))
    def get_published_by(self, version):
        return _author(version.published_by) if version.published_by_id else None


def _author(user) -> dict:
    return {"id": str(user.id), "name": user.display_name}


class FlowVersionDetailSerializer(FlowVersionSerializer):
    class Meta:
        ref_name = "FlowVersion"

    definition = serializers.JSONField()


class FlowDefinitionInput(serializers.Serializer):
    class Meta:
        ref_name = "FlowDraftInput"

    definition = serializers.JSONField(help_text="The flow document; validated against the flow JSON schema.")

    def validate_definition(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Un flujo es un objeto JSON con `questions`.")
        return value


# Viewers read flows; admins also write them (CONTRACT §2).
FLOW_WRITE_ROLES = {"POST": "admin", "PUT": "admin", "PATCH": "admin", "DELETE": "admin"}


class FlowListApi(AgencyAPIView):
    @extend_schema(responses=inline_serializer("Flow", {
        "id": serializers.UUIDField(), "name": serializers.CharField(),
        "current_version": serializers.UUIDField(allow_null=True), "versions": FlowVersionSerializer(many=True)}))
    def get(self, request):
        overview = selectors.flow_overview(self.actor)
        return Response({**overview, "versions": FlowVersionSerializer(overview["versions"], many=True).data})


class FlowDraftCreateApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(request=FlowDefinitionInput, responses={201: FlowVersionDetailSerializer})
    def post(self, request):
        from qualification.services import flow_draft_save

        data = FlowDefinitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = flow_draft_save(actor=self.actor, definition=data.validated_data["definition"])
        return Response(FlowVersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)


class FlowVersionDetailApi(AgencyAPIView):
    required_roles = FLOW_WRITE_ROLES

    @extend_schema(responses=FlowVersionDetailSerializer)
    def get(self, request, version_id):
        return Response(FlowVersionDetailSerializer(selectors.access_flow_version(self.actor, version_id)).data)

    @extend_schema(request=FlowDefinitionInput, responses=FlowVersionDetailSerializer)
    def put(self, request, version_id):
        from qualification.services import flow_draft_save

        version = selectors.access_flow_version(self.actor, version_id)
        data = FlowDefinitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        saved = flow_draft_save(actor=self.actor, definition=data.validated_data["definition"], version_id=version.id)
        return Response(FlowVersionDetailSerializer(saved).data)


class FlowVersionPublishApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(request=None, responses=FlowVersionDetailSerializer)
    def post(self, request, version_id):
        from qualification.services import flow_version_publish

        version = selectors.access_flow_version(self.actor, version_id)
        published = flow_version_publish(actor=self.actor, version_id=version.id)
        return Response(FlowVersionDetailSerializer(published).data)


class FlowVersionDiffApi(AgencyAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("against", str, required=True, description="The version to compare with")],
        responses=inline_serializer("FlowDiff", {
            "version": serializers.UUIDField(), "against": serializers.UUIDField(),
            "added": serializers.ListField(child=serializers.DictField()),
            "removed": serializers.ListField(child=serializers.DictField()),
            "changed": serializers.ListField(child=serializers.DictField()),
            "reordered": serializers.BooleanField(), "rules_changed": serializers.BooleanField()}),
    )
    def get(self, request, version_id):
        from project.api.errors import ApplicationError
        from qualification.flows import diff_flows

        version = selectors.access_flow_version(self.actor, version_id)
        against_id = request.query_params.get("against")
        if not against_id:
            raise ApplicationError("Indica con qué versión comparar (?against=<id>).", code="validation_error",
                                   fields={"against": ["required"]})
        against = selectors.access_flow_version(self.actor, against_id)
        return Response({"version": str(version.id), "against": str(against.id),
                         **diff_flows(against.definition, version.definition)})


class FlowVersionPreviewApi(AgencyAPIView):
    """A real conversation on one version (a draft, usually) for the editor's
    embedded chat: shaped like the widget's session (CONTRACT §3), opened
    with the staff token instead of a widget key and an allowed origin."""

    permission_classes = [role_required("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FlowPreviewInput"

        locale = serializers.ChoiceField(choices=["es", "en"], required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "FlowPreviewSession"

        conversation = serializers.UUIDField()
        visitor_token = serializers.CharField()
        ws_url = serializers.CharField()
        config = serializers.DictField()
        resumed = serializers.BooleanField()
        preview = serializers.BooleanField()
        flow_version = FlowVersionSerializer()
        preview_url = serializers.CharField(help_text="A page of this service that runs the widget on this session "
                                                      "(the session travels in the URL fragment, never to a server).")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, version_id):
        import json
        from urllib.parse import quote

        from chat.api import service_origin, widget_session_body
        from chat.services import preview_session_open

        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        version = selectors.access_flow_version(self.actor, version_id)
        scheme, host = service_origin(request)
        # The preview's socket is opened by a page of the console's own origin.
        origin = request.headers.get("Origin") or f"{scheme}://{host}"
        session = preview_session_open(actor=self.actor, flow_version=version, origin=origin,
                                       server_base=f"{scheme}://{host}", locale=data.validated_data.get("locale"))
        body = widget_session_body(request, session)
        fragment = json.dumps({"conversation": str(body["conversation"]), "visitor_token": body["visitor_token"],
                               "ws_url": body["ws_url"], "config": body["config"]}, separators=(",", ":"))
        body.update(preview=True, flow_version=version,
                    preview_url="/widget/preview/#" + quote(fragment, safe=""))
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
