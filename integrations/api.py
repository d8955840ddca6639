"""REST of the Clientify integration and the outbound webhooks (CONTRACT §5, §6, §7).

Roles: anyone on the staff may read the integration's health; admins (and
owners) connect Clientify and manage webhooks; agents and up may read the
dead letters and push a lead to Clientify again (`resync` is idempotent, and
the agent working a lead is who notices it is missing from the CRM).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors, services
from integrations.services import EVENT_TYPES
from project.api.pagination import CursorPagination
from project.api.views import AgencyAPIView
from tenancy.permissions import role_required


def _iso(value):
    return value.isoformat() if value else None


def connection_data(connection, *, counts: dict, admin: bool, request) -> dict:
    if connection is None:
        return {"connected": False, "enabled": False, "api_token": None, "account": None, "field_mapping": {},
                "api_root": selectors.clientify_api_root(), "inbound_webhook_url": None,
                "health": {"last_success": None, "last_failure": None, "last_error": None,
                           "consecutive_failures": 0, "breaker": {"state": "closed", "opened_at": None}},
                "leads": counts}
    path = selectors.inbound_webhook_path(connection)
    return {
        "connected": bool(connection.api_token),
        "enabled": connection.enabled,
        # Never the token itself: enough to recognise which one is stored.
        "api_token": {"set": bool(connection.api_token), "last4": connection.token_last4 or None},
        "account": connection.account or None,
        "field_mapping": connection.field_mapping or {},
        "api_root": selectors.clientify_api_root(),
        "inbound_webhook_url": request.build_absolute_uri(path) if admin else None,
        "health": {
            "last_success": _iso(connection.last_success_at),
            "last_failure": _iso(connection.last_failure_at),
            "last_error": connection.last_error or None,
            "consecutive_failures": connection.consecutive_failures,
            "breaker": {"state": connection.breaker_state, "opened_at": _iso(connection.breaker_opened_at)},
        },
        "leads": counts,
    }


class ClientifyIntegrationApi(AgencyAPIView):
    required_roles = {"PUT": "admin"}

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClientifyIntegrationInput"

        api_token = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                          trim_whitespace=True)
        enabled = serializers.BooleanField()
        field_mapping = serializers.JSONField(required=False)

    def _body(self, request, connection):
        return connection_data(connection, counts=selectors.crm_sync_counts(self.actor),
                               admin=self.actor.has_role("admin"), request=request)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="integrations_clientify_get")
    def get(self, request):
        return Response(self._body(request, selectors.clientify_connection(self.actor)))

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT},
                   operation_id="integrations_clientify_put")
    def put(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.clientify_connection_save(
            actor=self.actor, api_token=data.validated_data.get("api_token"),
            enabled=data.validated_data["enabled"], field_mapping=data.validated_data.get("field_mapping"),
        )
        return Response(self._body(request, connection))


class ClientifyTestApi(AgencyAPIView):
    """Whether a token (the one typed, or the stored one) opens Clientify; stores nothing."""

    permission_classes = [role_required("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ClientifyTestInput"

        api_token = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                          trim_whitespace=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("ClientifyTestResult", {
            "ok": serializers.BooleanField(), "account": serializers.DictField(required=False),
            "code": serializers.ChoiceField(choices=["token_rejected", "clientify_unavailable"], required=False),
            "message": serializers.CharField(required=False),
            "status": serializers.IntegerField(required=False, allow_null=True),
        })},
        operation_id="integrations_clientify_test",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.clientify_connection_test(actor=self.actor,
                                                           api_token=data.validated_data.get("api_token")))


def dead_letter_data(state) -> dict:
    # Name and conversation let the console say whose sync failed and link to it.
    return {"lead": str(state.lead_id), "lead_name": state.lead.name or None,
            "conversation": str(state.lead.conversation_id), **selectors.crm_state_data(state),
            "dead_lettered_at": _iso(state.dead_lettered_at)}


class DeadLetterPagination(CursorPagination):
    ordering = ("-dead_lettered_at", "-id")


class ClientifyDeadLettersApi(AgencyAPIView):
    min_role = "agent"

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="integrations_clientify_dead_letters")
    def get(self, request):
        paginator = DeadLetterPagination()
        page = paginator.paginate_queryset(selectors.crm_dead_letters(self.actor), request, view=self)
        return paginator.get_paginated_response([dead_letter_data(s) for s in page])


class LeadResyncApi(AgencyAPIView):
    min_role = "agent"

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT}, operation_id="leads_resync")
    def post(self, request, lead_id):
        services.crm_resync(actor=self.actor, lead_id=lead_id)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


# --- Outbound webhooks -------------------------------------------------------------------------


def endpoint_data(endpoint, *, secret: str | None = None) -> dict:
    body = {
        "id": str(endpoint.id), "url": endpoint.url, "description": endpoint.description,
        "event_types": endpoint.event_types or list(EVENT_TYPES), "active": endpoint.active,
        "created": _iso(endpoint.created), "updated": _iso(endpoint.updated),
    }
    if secret is not None:
        body["secret"] = secret  # shown once, at creation or rotation
    return body


def delivery_data(delivery) -> dict:
    return {
        "id": str(delivery.id), "event_id": str(delivery.event_id), "type": delivery.type,
        "status": delivery.status, "attempts": delivery.attempts, "response_code": delivery.response_code,
        "last_error": delivery.last_error or None, "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_attempt_at": _iso(delivery.last_attempt_at), "delivered_at": _iso(delivery.delivered_at),
        "dead_lettered": delivery.dead_lettered, "dead_lettered_at": _iso(delivery.dead_lettered_at),
        "created": _iso(delivery.created), "payload": delivery.payload,
    }


class _EndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=1000)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookListApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    class InputSerializer(_EndpointInput):
        class Meta:
            ref_name = "WebhookEndpointCreateInput"

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="webhooks_list")
    def get(self, request):
        return Response({"results": [endpoint_data(e) for e in selectors.webhook_endpoints(self.actor)]})

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT}, operation_id="webhooks_create")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            actor=self.actor, url=data.validated_data["url"], event_types=data.validated_data["event_types"],
            description=data.validated_data.get("description", ""), active=data.validated_data.get("active", True),
        )
        return Response(endpoint_data(endpoint, secret=secret), status=status.HTTP_201_CREATED)


class WebhookDetailApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    class InputSerializer(_EndpointInput):
        class Meta:
            ref_name = "WebhookEndpointUpdateInput"

        url = serializers.CharField(max_length=1000, required=False)
        event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), required=False)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="webhooks_retrieve")
    def get(self, request, endpoint_id):
        return Response(endpoint_data(selectors.access_webhook_endpoint(self.actor, endpoint_id)))

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT}, operation_id="webhooks_update")
    def patch(self, request, endpoint_id):
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(actor=self.actor, endpoint=endpoint, **data.validated_data)
        return Response(endpoint_data(endpoint))

    @extend_schema(responses={204: None}, operation_id="webhooks_destroy")
    def delete(self, request, endpoint_id):
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        services.webhook_endpoint_delete(actor=self.actor, endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT}, operation_id="webhooks_rotate_secret")
    def post(self, request, endpoint_id):
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        secret = services.webhook_endpoint_rotate_secret(actor=self.actor, endpoint=endpoint)
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        return Response(endpoint_data(endpoint, secret=secret))


class WebhookDeliveriesApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="webhooks_deliveries_list")
    def get(self, request, endpoint_id):
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        paginator = CursorPagination()
        page = paginator.paginate_queryset(selectors.webhook_deliveries(self.actor, endpoint), request, view=self)
        return paginator.get_paginated_response([delivery_data(d) for d in page])


class WebhookDeliveryReplayApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT}, operation_id="webhooks_deliveries_replay")
    def post(self, request, endpoint_id, delivery_id):
        endpoint = selectors.access_webhook_endpoint(self.actor, endpoint_id)
        delivery = selectors.access_webhook_delivery(self.actor, endpoint, delivery_id)
        delivery = services.webhook_delivery_replay(actor=self.actor, delivery=delivery)
        return Response(delivery_data(delivery), status=status.HTTP_202_ACCEPTED)


class ClientifyInboundApi(APIView):
    """Clientify's hooks; the secret in the path is the authentication (404 when wrong)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=inline_serializer("ClientifyHook", {"hook": serializers.DictField(), "data": serializers.DictField()}),
        responses={200: OpenApiTypes.OBJECT}, auth=[], operation_id="webhooks_clientify_inbound",
    )
    def post(self, request, secret):
        handled = services.clientify_inbound_receive(secret=secret, body=request.data)
        return Response({"ok": True, "handled": handled})
