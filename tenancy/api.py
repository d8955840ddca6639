"""Staff authentication and the agency's keys and origins (CONTRACT §2, §5.1).

Each view parses, calls one service or selector, and serialises."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from project.api.views import AgencyAPIView
from project.ratelimit import request_ip
from tenancy import selectors, services
from tenancy.permissions import role_required


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    agency = serializers.UUIDField()


class TokenObtainApi(AgencyAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenObtainInput"

        email = serializers.EmailField()
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        agency = serializers.UUIDField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_login(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            agency_id=data.validated_data.get("agency"),
            ip=request_ip(request),
        )
        return Response(TokenPairSerializer(pair).data)


class TokenRefreshApi(AgencyAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TokenRefreshInput"

        refresh = serializers.CharField(max_length=2048)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.auth_refresh(refresh=data.validated_data["refresh"])
        return Response(TokenPairSerializer(pair).data)


class LogoutApi(AgencyAPIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.auth_logout(actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(AgencyAPIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {"user": serializers.DictField(), "agency": serializers.DictField(), "role": serializers.CharField()},
        )
    )
    def get(self, request):
        agency = selectors.access_agency(self.actor)
        membership = selectors.membership_for(user_id=self.actor.user_id, agency_id=agency.id)
        user = membership.user
        return Response(
            {
                "user": {"id": str(user.id), "email": user.email, "name": user.display_name},
                "agency": {"id": str(agency.id), "name": agency.name, "slug": agency.slug},
                "role": self.actor.role,
            }
        )


class WidgetKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    key = serializers.CharField()
    name = serializers.CharField()
    created = serializers.DateTimeField()


class WidgetKeyListApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WidgetKeyCreateInput"

        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @extend_schema(responses=WidgetKeySerializer(many=True))
    def get(self, request):
        return Response({"results": WidgetKeySerializer(selectors.widget_keys_list(self.actor), many=True).data})

    @extend_schema(request=InputSerializer, responses={201: WidgetKeySerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.widget_key_create(actor=self.actor, name=data.validated_data["name"])
        return Response(WidgetKeySerializer(key).data, status=status.HTTP_201_CREATED)


class WidgetKeyDetailApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(responses={204: None})
    def delete(self, request, key_id):
        key = selectors.access_widget_key(self.actor, key_id)
        services.widget_key_revoke(actor=self.actor, key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OriginSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    origin = serializers.CharField()


class OriginListApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OriginCreateInput"

        origin = serializers.CharField(max_length=255)

    @extend_schema(responses=OriginSerializer(many=True))
    def get(self, request):
        return Response({"results": OriginSerializer(selectors.origins_list(self.actor), many=True).data})

    @extend_schema(request=InputSerializer, responses={201: OriginSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        origin = services.origin_add(actor=self.actor, origin=data.validated_data["origin"])
        return Response(OriginSerializer(origin).data, status=status.HTTP_201_CREATED)


class OriginDetailApi(AgencyAPIView):
    permission_classes = [role_required("admin")]

    @extend_schema(responses={204: None})
    def delete(self, request, origin_id):
        origin = selectors.access_origin(self.actor, origin_id)
        services.origin_remove(actor=self.actor, origin=origin)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditLogApi(AgencyAPIView):
    """Owners read the append-only audit log (who, what, when, from where)."""

    permission_classes = [role_required("owner")]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        from project.api.pagination import CursorPagination
        from tenancy.models import AuditLog

        paginator = CursorPagination()
        page = paginator.paginate_queryset(AuditLog.objects.all(), request, view=self)
        return paginator.get_paginated_response([
            {"id": str(e.id), "action": e.action, "actor": str(e.actor_user_id) if e.actor_user_id else None,
             "target": e.target, "ip": e.ip, "data": e.data, "created": e.created.isoformat()} for e in page
        ])
