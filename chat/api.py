"""Widget sessions (CONTRACT §3): the one endpoint websites call directly.

CORS is answered here, per agency: only an origin the key's agency allows
gets Access-Control-Allow-Origin, and nothing else of the API is CORS-enabled.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django_scopes import scopes_disabled
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.services import widget_session_open
from project.ratelimit import request_ip
from tenancy.models import AllowedOrigin
from tenancy.origins import origin_allowed
from tenancy.selectors import agency_origin_patterns, widget_key_resolve


def _cors(response, origin: str) -> None:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"


def _origin_known(origin: str, key: str | None) -> bool:
    """For a preflight, which carries no body: the key's agency when the URL
    names one, else any agency that allows this origin."""
    if key:
        widget_key = widget_key_resolve(key)
        return widget_key is not None and origin_allowed(origin, agency_origin_patterns(widget_key.agency_id))
    host = origin.split("://", 1)[-1].split(":")[0]
    parent = host.split(".", 1)[-1]
    with scopes_disabled():
        candidates = list(
            AllowedOrigin.objects.filter(Q(origin__startswith=origin) | Q(origin__contains=f"*.{parent}")).values_list(
                "origin", flat=True
            )[:50]
        )
    return origin_allowed(origin, candidates)


def widget_config(conversation) -> dict:
    agency = conversation.agency
    branding = {**(agency.branding or {})}
    policy = agency.setting("privacy_policy") or {}
    flow = conversation.flow_version.definition if conversation.flow_version_id else {"questions": []}
    locale = conversation.locale if conversation.locale in ("es", "en") else "es"
    steps = []
    for q in flow.get("questions", []):
        step = {"field": q["field"], "type": q["type"], "required": q.get("required", True)}
        if q.get("choices"):
            step["choices"] = [
                {"value": c["value"], "label": (c.get("label") or {}).get(locale) or c["value"]} for c in q["choices"]
            ]
        steps.append(step)
    return {
        "agency_name": agency.name,
        "primary_color": branding.get("primary_color") or "#4f46e5",
        "greeting": branding.get("greeting") or "",
        "position": branding.get("position") or "right",
        "logo_url": branding.get("logo_url"),
        "locale": locale,
        "privacy_policy": {"url": policy.get("url", ""), "version": str(policy.get("version", "1"))},
        "flow": {"version": conversation.flow_version.number if conversation.flow_version_id else None, "steps": steps},
        "limits": {"max_text_chars": settings.CHAT_MAX_TEXT_CHARS},
    }


def service_origin(request) -> tuple[str, str]:
    """(scheme, host) of this service as clients reach it: PUBLIC_BASE_URL
    when set, else the request's own."""
    scheme = "https" if request.is_secure() else "http"
    base = settings.PUBLIC_BASE_URL
    host = base.split("://", 1)[1].rstrip("/") if base else request.get_host()
    if base and base.startswith("https"):
        scheme = "https"
    return scheme, host


def widget_session_body(request, session) -> dict:
    """The §3 session answer: conversation, visitor token, socket URL, config."""
    scheme, host = service_origin(request)
    config = widget_config(session.conversation)
    if config.get("logo_url", "") and config["logo_url"].startswith("/"):
        # The widget runs on the customer's site: a relative URL would point there.
        config["logo_url"] = f"{scheme}://{host}{config['logo_url']}"
    return {
        "conversation": session.conversation.id,
        "visitor_token": session.visitor_token,
        "ws_url": f"{'wss' if scheme == 'https' else 'ws'}://{host}/ws/v1/chat",
        "config": config,
        "resumed": session.resumed,
    }


class WidgetSessionApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WidgetSessionInput"

        key = serializers.CharField(max_length=64)
        visitor_token = serializers.CharField(max_length=512, required=False, allow_null=True, allow_blank=True)
        locale = serializers.ChoiceField(choices=["es", "en"], required=False, allow_null=True)
        page_url = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WidgetSession"

        conversation = serializers.UUIDField()
        visitor_token = serializers.CharField()
        ws_url = serializers.CharField()
        config = serializers.DictField()
        resumed = serializers.BooleanField()

    def options(self, request, *args, **kwargs):
        response = Response(status=status.HTTP_204_NO_CONTENT)
        origin = request.headers.get("Origin")
        if origin and _origin_known(origin, request.query_params.get("key")):
            _cors(response, origin)
        return response

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        origin = request.headers.get("Origin")
        session = widget_session_open(
            key=data.validated_data["key"],
            origin=origin,
            visitor_token=data.validated_data.get("visitor_token"),
            page_url=data.validated_data.get("page_url", ""),
            locale=data.validated_data.get("locale"),
            ip=request_ip(request),
            server_base=request.build_absolute_uri("/").rstrip("/"),
            own_base=settings.PUBLIC_BASE_URL or request.build_absolute_uri("/"),
        )
        body = self.OutputSerializer(widget_session_body(request, session)).data
        response = Response(body, status=status.HTTP_201_CREATED)
        _cors(response, origin)
        return response


# --- Staff REST: conversations (CONTRACT §5) ------------------------------------

from django.utils.dateparse import parse_date, parse_datetime  # noqa: E402
from drf_spectacular.utils import OpenApiParameter  # noqa: E402

from chat import selectors as chat_selectors  # noqa: E402
from project.api.pagination import CursorPagination  # noqa: E402
from project.api.views import AgencyAPIView  # noqa: E402


def _date_param(value: str | None):
    if not value:
        return None
    parsed = parse_datetime(value) or (parse_date(value) and parse_datetime(value + "T00:00:00+00:00"))
    if parsed is None:
        from project.api.errors import ApplicationError

        raise ApplicationError("Fecha no válida (ISO-8601).", code="validation_error", fields={"date": ["invalid"]})
    return parsed


class ConversationPagination(CursorPagination):
    ordering = ("-updated", "-id")


class TurnOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    role = serializers.CharField()
    text = serializers.CharField()
    stopped = serializers.BooleanField()
    created = serializers.DateTimeField()


class ConversationListApi(AgencyAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["open", "qualified", "declined", "closed"]),
            OpenApiParameter("step", str),
            OpenApiParameter("from", str, description="ISO date or datetime (created ≥)"),
            OpenApiParameter("to", str, description="ISO date or datetime (created <)"),
            OpenApiParameter("q", str, description="Words that must all appear in the conversation's turns"),
        ],
        responses={200: OpenApiTypes.OBJECT}, operation_id="conversations_list",
    )
    def get(self, request):
        params = request.query_params
        qs = chat_selectors.conversations_list(
            self.actor, status=params.get("status"), step=params.get("step"),
            created_from=_date_param(params.get("from")), created_to=_date_param(params.get("to")), q=params.get("q"),
        )
        paginator = ConversationPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        results = [chat_selectors.conversation_summary(c, lead=getattr(c, "lead", None)) for c in page]
        return paginator.get_paginated_response(results)


class ConversationDetailApi(AgencyAPIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, conversation_id):
        conversation = chat_selectors.access_conversation(self.actor, conversation_id)
        from qualification.selectors import lead_for_conversation
        from qualification.api import lead_detail_data

        lead = lead_for_conversation(conversation)
        body = chat_selectors.conversation_summary(conversation, lead=lead)
        body["turns"] = [
            {"id": str(t.id), "seq": t.seq, "role": t.role, "text": t.text, "stopped": t.stopped,
             "flagged": t.flagged, "created": t.created.isoformat(), "agent": None}
            for t in chat_selectors.conversation_turns(agency_id=self.actor.agency_id, conversation_id=conversation.id)
        ]
        body["notes"] = [
            {"id": str(n.id), "text": n.text, "author": {"name": n.author.display_name if n.author else ""},
             "created": n.created.isoformat()}
            for n in chat_selectors.conversation_notes(agency_id=self.actor.agency_id, conversation_id=conversation.id)
        ]
        body["answers"] = lead.answers if lead else {}
        body["lead"] = lead_detail_data(lead) if lead else None
        body["page_url"] = conversation.page_url
        body["preview"] = conversation.is_preview
        return Response(body)
