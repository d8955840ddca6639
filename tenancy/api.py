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


# --- Self-service (CONTRACT §5.1) --------------------------------------------------


def _base_url(request) -> str:
    from django.conf import settings

    return (settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")).rstrip("/")


class SignupApi(AgencyAPIView):
    """An agency signs itself up (while SIGNUP_ENABLED; throttled per IP)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SignupInput"

        agency = serializers.CharField(max_length=200)
        name = serializers.CharField(max_length=150)
        email = serializers.EmailField()
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={201: TokenPairSerializer}, auth=[])
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.agency_signup(
            agency_name=data.validated_data["agency"], name=data.validated_data["name"],
            email=data.validated_data["email"], password=data.validated_data["password"], ip=request_ip(request),
        )
        return Response(TokenPairSerializer(pair).data, status=status.HTTP_201_CREATED)


_HEX_COLOR = r"^#[0-9a-fA-F]{6}$"


class BrandingSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Branding"

    logo_url = serializers.CharField(allow_null=True, read_only=True)
    primary_color = serializers.RegexField(_HEX_COLOR, required=False,
                                           error_messages={"invalid": "Un color #rrggbb, p. ej. #4f46e5."})
    greeting = serializers.CharField(max_length=300, required=False, allow_blank=True)
    position = serializers.ChoiceField(choices=["left", "right"], required=False)
    logo = serializers.JSONField(required=False, write_only=True, allow_null=True,
                                 help_text="null removes the logo; upload one with multipart `logo`.")

    def validate_logo(self, value):
        if value is not None:
            raise serializers.ValidationError("Sube el logo como archivo (multipart, campo `logo`) o envía null.")
        return value


class PrivacyPolicySerializer(serializers.Serializer):
    class Meta:
        ref_name = "PrivacyPolicy"

    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    version = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", required=False)

    def validate_url(self, value):
        if value and not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError("La URL debe empezar por https://.")
        return value


class ScoringSerializer(serializers.Serializer):
    """The weights of qualification.scoring's four factors (normalised to 100 when scoring)."""

    class Meta:
        ref_name = "ScoringWeights"

    budget = serializers.IntegerField(min_value=0, max_value=100, required=False)
    timeline = serializers.IntegerField(min_value=0, max_value=100, required=False)
    fit = serializers.IntegerField(min_value=0, max_value=100, required=False)
    completeness = serializers.IntegerField(min_value=0, max_value=100, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["Factor desconocido."] for k in unknown})
        return super().to_internal_value(data)


class AgencySerializer(serializers.Serializer):
    class Meta:
        ref_name = "Agency"

    id = serializers.UUIDField(read_only=True)
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=200, required=False)
    locale = serializers.ChoiceField(choices=["es", "en"], required=False)
    branding = BrandingSerializer(required=False)
    privacy_policy = PrivacyPolicySerializer(required=False)
    scoring = ScoringSerializer(required=False)
    notification_emails = serializers.ListField(child=serializers.EmailField(), max_length=10, required=False)


class LogoUploadSerializer(serializers.Serializer):
    class Meta:
        ref_name = "LogoUpload"

    logo = serializers.FileField(help_text="PNG, JPEG or WebP, at most 1 MB (checked by content).")


class AgencyApi(AgencyAPIView):
    """The agency's profile: JSON PATCH for the fields, multipart PATCH with
    `logo` for the logo."""

    permission_classes = [role_required("admin")]

    @extend_schema(responses=AgencySerializer)
    def get(self, request):
        return Response(AgencySerializer(selectors.agency_profile(self.actor)).data)

    @extend_schema(request={"application/json": AgencySerializer, "multipart/form-data": LogoUploadSerializer},
                   responses=AgencySerializer)
    def patch(self, request):
        from django.conf import settings

        logo = None
        upload = request.FILES.get("logo")
        if upload is not None:
            # Refused before it is read into memory.
            if upload.size > settings.LOGO_MAX_BYTES:
                raise serializers.ValidationError({"logo": [f"El logo pesa más de {settings.LOGO_MAX_BYTES // 1024} KB."]})
            logo = upload.read()
            changes = {}
        elif request.content_type.startswith("multipart/"):
            raise serializers.ValidationError({"logo": ["Falta el archivo `logo`."]})
        else:
            data = AgencySerializer(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            changes = data.validated_data
        services.agency_update(actor=self.actor, changes=changes, logo=logo, ip=request_ip(request))
        return Response(AgencySerializer(selectors.agency_profile(self.actor)).data)


class OnboardingApi(AgencyAPIView):
    """The first-run checklist: branding → origin → install → test chat → Clientify."""

    permission_classes = [role_required("admin")]

    @extend_schema(responses=inline_serializer("Onboarding", {
        "steps": inline_serializer("OnboardingStep", {"id": serializers.CharField(), "done": serializers.BooleanField()},
                                   many=True),
        "complete": serializers.BooleanField(),
        "widget_key": serializers.CharField(allow_null=True),
        "snippet": serializers.CharField(allow_null=True)}))
    def get(self, request):
        return Response(selectors.onboarding_status(self.actor, base_url=_base_url(request)))


_ROLES = ["owner", "admin", "agent", "viewer"]


class MemberSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Member"

    id = serializers.UUIDField()
    role = serializers.CharField()
    created = serializers.DateTimeField()
    user = serializers.SerializerMethodField()

    def get_user(self, membership) -> dict:
        user = membership.user
        return {"id": str(user.id), "email": user.email, "name": user.display_name}


class InvitationSerializer(serializers.Serializer):
    class Meta:
        ref_name = "Invitation"

    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()


class MemberListApi(AgencyAPIView):
    """Admins see the team (members and pending invitations), so the console
    can show it to them; only owners invite."""

    def get_permissions(self):
        return [role_required("admin" if self.request.method == "GET" else "owner")()]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationCreateInput"

        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=_ROLES)

    @extend_schema(responses=inline_serializer("MemberList", {
        "results": MemberSerializer(many=True), "invitations": InvitationSerializer(many=True)}))
    def get(self, request):
        return Response({
            "results": MemberSerializer(selectors.members_list(self.actor), many=True).data,
            "invitations": InvitationSerializer(selectors.invitations_pending(self.actor), many=True).data,
        })

    @extend_schema(request=InputSerializer, responses={201: InvitationSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _token = services.invitation_create(
            actor=self.actor, email=data.validated_data["email"], role=data.validated_data["role"],
            base_url=_base_url(request), ip=request_ip(request),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(AgencyAPIView):
    permission_classes = [role_required("owner")]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "MemberUpdateInput"

        role = serializers.ChoiceField(choices=_ROLES)

    @extend_schema(request=InputSerializer, responses=MemberSerializer)
    def patch(self, request, membership_id):
        membership = selectors.access_membership(self.actor, membership_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.member_role_change(actor=self.actor, membership=membership,
                                              role=data.validated_data["role"], ip=request_ip(request))
        return Response(MemberSerializer(selectors.access_membership(self.actor, updated.id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, membership_id):
        membership = selectors.access_membership(self.actor, membership_id)
        services.member_remove(actor=self.actor, membership=membership, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationDetailApi(AgencyAPIView):
    permission_classes = [role_required("owner")]

    @extend_schema(responses={204: None})
    def delete(self, request, invitation_id):
        invitation = selectors.access_invitation(self.actor, invitation_id)
        services.invitation_revoke(actor=self.actor, invitation=invitation, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationPreviewApi(AgencyAPIView):
    """The accept page's first read (no auth: the token is the credential)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(auth=[], responses=inline_serializer("InvitationPreview", {
        "agency": serializers.DictField(), "email": serializers.EmailField(), "role": serializers.CharField(),
        "expires": serializers.DateTimeField(), "existing_account": serializers.BooleanField()}))
    def get(self, request, token):
        preview = selectors.invitation_preview(token)
        return Response({**preview, "agency": {"id": str(preview["agency"]["id"]), "name": preview["agency"]["name"]},
                         "expires": preview["expires"].isoformat()})


class InvitationAcceptApi(AgencyAPIView):
    """The invited person sets their name and password (no token needed: the
    link's token is the credential, once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationAcceptInput"

        name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, auth=[])
    def post(self, request, token):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.invitation_accept(token=token, name=data.validated_data["name"],
                                          password=data.validated_data["password"], ip=request_ip(request))
        return Response(TokenPairSerializer(pair).data)
