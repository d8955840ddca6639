"""Reads of tenancy data. Every `access_*` answers NotFound both for a missing
row and for another agency's (Zulip's pattern), so ids cannot be probed."""

from __future__ import annotations

import uuid

from django_scopes import scope, scopes_disabled

from project.api.errors import NotFound
from tenancy.actors import StaffActor
from tenancy.models import Agency, AllowedOrigin, Membership, User, WidgetKey


def _uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound() from None


def access_agency(actor: StaffActor) -> Agency:
    try:
        return Agency.objects.get(id=actor.agency_id)
    except Agency.DoesNotExist:
        raise NotFound() from None


def _access(model, actor: StaffActor, object_id, **extra):
    with scope(agency=actor.agency_id):
        try:
            return model.objects.get(id=_uuid(object_id), **extra)
        except model.DoesNotExist:
            raise NotFound() from None


def access_membership(actor: StaffActor, membership_id) -> Membership:
    return _access(Membership, actor, membership_id)


def access_invitation(actor: StaffActor, invitation_id):
    from tenancy.models import Invitation

    return _access(Invitation, actor, invitation_id)


def access_widget_key(actor: StaffActor, key_id) -> WidgetKey:
    return _access(WidgetKey, actor, key_id)


def access_origin(actor: StaffActor, origin_id) -> AllowedOrigin:
    return _access(AllowedOrigin, actor, origin_id)


def widget_keys_list(actor: StaffActor):
    with scope(agency=actor.agency_id):
        return list(WidgetKey.objects.filter(revoked_at__isnull=True).order_by("created"))


def origins_list(actor: StaffActor):
    with scope(agency=actor.agency_id):
        return list(AllowedOrigin.objects.order_by("created"))


def agency_origin_patterns(agency_id) -> list[str]:
    with scope(agency=agency_id):
        return list(AllowedOrigin.objects.values_list("origin", flat=True))


def widget_key_resolve(key: str) -> WidgetKey | None:
    """The one public, unscoped lookup: a website presents its key and we learn
    which agency it belongs to. Revoked keys resolve to None."""
    if not isinstance(key, str) or not key.startswith("pk_") or len(key) > 64:
        return None
    with scopes_disabled():
        return WidgetKey.objects.select_related("agency").filter(key=key, revoked_at__isnull=True).first()


def user_memberships(user: User) -> list[Membership]:
    with scopes_disabled():
        return list(Membership.objects.select_related("agency").filter(user=user).order_by("created"))


def membership_for(*, user_id, agency_id) -> Membership | None:
    with scope(agency=agency_id):
        return Membership.objects.select_related("user").filter(user_id=user_id, user__is_active=True).first()


def agency_profile(actor: StaffActor) -> dict:
    """What the console's agency settings screen shows (CONTRACT §5.1)."""
    from qualification.scoring import DEFAULT_WEIGHTS
    from tenancy.models import default_branding

    agency = access_agency(actor)
    branding = {**default_branding(), **(agency.branding or {})}
    policy = agency.setting("privacy_policy") or {}
    return {
        "id": agency.id,
        "name": agency.name,
        "slug": agency.slug,
        "locale": agency.locale,
        "branding": {
            "logo_url": branding.get("logo_url"),
            "primary_color": branding.get("primary_color"),
            "greeting": branding.get("greeting"),
            "position": branding.get("position"),
        },
        "privacy_policy": {"url": policy.get("url", ""), "version": str(policy.get("version", "1"))},
        "scoring": {**DEFAULT_WEIGHTS, **(agency.setting("scoring") or {})},
        "notification_emails": list(agency.setting("notification_emails") or []),
    }


def members_list(actor: StaffActor) -> list[Membership]:
    with scope(agency=actor.agency_id):
        return list(Membership.objects.select_related("user").order_by("created"))


def invitations_pending(actor: StaffActor):
    from django.utils import timezone

    from tenancy.models import Invitation

    with scope(agency=actor.agency_id):
        return list(
            Invitation.objects.filter(accepted_at__isnull=True, expires__gt=timezone.now()).order_by("-created")
        )


ONBOARDING_STEPS = ("branding", "origin", "install", "test_chat", "clientify")


def _clientify_connected(agency_id) -> bool:
    try:
        from integrations.models import ClientifyConnection
    except ImportError:  # the CRM integration is not in this deployment
        return False
    with scope(agency=agency_id):
        return ClientifyConnection.objects.filter(enabled=True).exclude(token_last4="").exists()


def onboarding_status(actor: StaffActor, *, base_url: str) -> dict:
    """The console's first-run checklist (issue 11): which steps are done,
    and the snippet to paste into the agency's site."""
    from chat.models import Conversation, Turn
    from tenancy.models import AuditLog
    from tenancy.origins import service_origin

    with scope(agency=actor.agency_id):
        updates = AuditLog.objects.filter(action="agency.update").order_by("-created").values_list("data", flat=True)[:200]
        done = {
            "branding": any("branding" in (data or {}).get("fields", []) for data in updates),
            "origin": AllowedOrigin.objects.exists(),
            # Sessions only open from allowed origins: one means the widget is on a site
            # (the console's previews of it, on the service's own origin, do not count).
            "install": Conversation.objects.filter(is_preview=False).exclude(origin=service_origin(base_url)).exists(),
            "test_chat": Turn.objects.filter(role=Turn.Role.LEAD).exists(),
            "clientify": _clientify_connected(actor.agency_id),
        }
        key = WidgetKey.objects.filter(revoked_at__isnull=True).order_by("created").first()
    snippet = (f'<script src="{base_url}/widget/v1/markezy.js" data-key="{key.key}" async></script>'
               if key is not None else None)
    return {
        "steps": [{"id": step, "done": done[step]} for step in ONBOARDING_STEPS],
        "complete": all(done.values()),
        "widget_key": key.key if key is not None else None,
        "snippet": snippet,
    }


def invitation_preview(token: str) -> dict:
    """What the accept page shows before the invited person answers: the
    agency, the role, and whether to ask for a new password or their own.
    404 unknown, 410 used or expired (the token is the only credential)."""
    from tenancy.models import Invitation
    from tenancy.services import _token_hash, invitation_check_usable, user_for_email

    with scopes_disabled():
        invitation = Invitation.objects.select_related("agency").filter(token_hash=_token_hash(token or "")).first()
    invitation_check_usable(invitation)
    return {"agency": {"id": invitation.agency_id, "name": invitation.agency.name}, "email": invitation.email,
            "role": invitation.role, "expires": invitation.expires,
            "existing_account": user_for_email(invitation.email) is not None}
