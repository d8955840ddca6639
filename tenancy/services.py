"""Writes of tenancy data: agencies, memberships, logins, keys and origins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scope, scopes_disabled

from project.api.errors import ApplicationError, NotFound, RateLimited
from project.ratelimit import window_hit, window_reset
from tenancy import tokens
from tenancy.actors import StaffActor
from tenancy.models import Agency, AllowedOrigin, Membership, RefreshToken, Role, TokenFamily, User, WidgetKey
from tenancy.origins import InvalidOrigin, normalize_origin
from tenancy.selectors import membership_for, user_memberships


class Unauthenticated(ApplicationError):
    status = 401
    code = "unauthenticated"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str
    agency: uuid.UUID


# --- Agencies -------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "agencia"
    slug, n = base, 1
    while Agency.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def agency_create(*, name: str, owner_email: str, owner_password: str | None, owner_name: str = "", locale: str = "es") -> Agency:
    """Create an agency with its owner, one widget key and the default flow.

    Preconditions: `owner_email` is not taken by another user when a password is
    given (a new user is created); an existing user becomes the owner otherwise.
    """
    email = owner_email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, owner_password, name=owner_name)
    elif owner_password is not None:
        raise ApplicationError("Este email ya está registrado.", code="email_taken", fields={"email": ["taken"]})
    agency = Agency.objects.create(name=name, slug=_unique_slug(name), locale=locale)
    with scope(agency=agency.id):
        Membership.objects.create(agency=agency, user=user, role=Role.OWNER)
        WidgetKey.objects.create(agency=agency, name="Principal")
    from qualification.services import flow_install_default

    flow_install_default(agency=agency)
    return agency


def membership_add(*, agency: Agency, user: User, role: str) -> Membership:
    with scope(agency=agency.id):
        membership, _ = Membership.objects.update_or_create(agency=agency, user=user, defaults={"role": role})
        return membership


# --- Logins and tokens -------------------------------------------------------


def _issue_pair(*, user_id, agency_id, role: str, family_id) -> TokenPair:
    access, _ = tokens.encode(
        user_id=user_id, agency_id=agency_id, role=role, family_id=family_id,
        typ="access", jti=uuid.uuid4(), lifetime=settings.JWT_ACCESS_TTL,
    )
    refresh_jti = uuid.uuid4()
    refresh, expires = tokens.encode(
        user_id=user_id, agency_id=agency_id, role=role, family_id=family_id,
        typ="refresh", jti=refresh_jti, lifetime=settings.JWT_REFRESH_TTL,
    )
    RefreshToken.objects.create(jti=refresh_jti, family_id=family_id, expires=expires)
    return TokenPair(access=access, refresh=refresh, agency=agency_id)


def auth_login(*, email: str, password: str, agency_id: str | None, ip: str) -> TokenPair:
    """Exchange credentials for a token pair in one of the user's agencies.

    Throttled per account and per IP: more than LOGIN_FAILURES_PER_MINUTE
    failures in a minute answer 429 even for the right password.
    """
    email = (email or "").strip().lower()
    limit = settings.LOGIN_FAILURES_PER_MINUTE
    keys = [f"login-fail:acct:{email}", f"login-fail:ip:{ip}"]
    from project.ratelimit import window_count

    if any(window_count(k, window_seconds=60) >= limit for k in keys):
        raise RateLimited("Demasiados intentos. Espera un minuto.", retry_after=60)
    user = authenticate(username=email, password=password or "")
    if user is None or not user.is_active:
        for key in keys:
            window_hit(key, limit=limit, window_seconds=60)
        raise Unauthenticated("Email o contraseña incorrectos.")
    memberships = user_memberships(user)
    if agency_id:
        memberships = [m for m in memberships if str(m.agency_id) == str(agency_id)]
    if not memberships:
        raise Unauthenticated("Este usuario no pertenece a esa agencia.")
    membership = memberships[0]
    window_reset(keys[0], window_seconds=60)
    with transaction.atomic():
        family = TokenFamily.objects.create(user=user, agency_id=membership.agency_id)
        pair = _issue_pair(user_id=user.id, agency_id=membership.agency_id, role=membership.role, family_id=family.id)
    from tenancy.audit import audit_record

    audit_record(agency_id=membership.agency_id, actor_user_id=user.id, action="auth.login", ip=ip)
    return pair


def auth_refresh(*, refresh: str) -> TokenPair:
    """Rotate a refresh token. A refresh token presented a second time means it
    leaked: the whole family is revoked and the caller gets 401."""
    try:
        claims = tokens.decode(refresh, typ="refresh")
    except tokens.InvalidToken:
        raise Unauthenticated("Token de refresco no válido.") from None
    reused = False
    with transaction.atomic():
        row = (
            RefreshToken.objects.select_for_update()
            .select_related("family")
            .filter(jti=claims.jti, family_id=claims.family)
            .first()
        )
        if row is None or row.family.revoked_at is not None:
            raise Unauthenticated("Sesión revocada.")
        if row.used_at is not None:
            TokenFamily.objects.filter(id=row.family_id).update(revoked_at=timezone.now(), revoked_reason="reuse")
            reused = True
        else:
            membership = membership_for(user_id=claims.sub, agency_id=claims.agency)
            if membership is None:
                raise Unauthenticated("Ya no perteneces a esta agencia.")
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            return _issue_pair(
                user_id=claims.sub, agency_id=claims.agency, role=membership.role, family_id=row.family_id
            )
    # Outside the atomic block so the revocation commits before we refuse.
    assert reused
    raise Unauthenticated("Token de refresco ya usado: sesión revocada.")


def auth_logout(*, actor: StaffActor) -> None:
    if actor.family_id:
        TokenFamily.objects.filter(id=actor.family_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason="logout"
        )


def actor_from_access_token(token: str) -> StaffActor:
    """Verify an access token and return the acting staff member with their
    *current* role: a removed member or a revoked login is refused at once."""
    try:
        claims = tokens.decode(token, typ="access")
    except tokens.InvalidToken:
        raise Unauthenticated("Token no válido o caducado.") from None
    if TokenFamily.objects.filter(id=claims.family, revoked_at__isnull=False).exists():
        raise Unauthenticated("Sesión revocada.")
    membership = membership_for(user_id=claims.sub, agency_id=claims.agency)
    if membership is None:
        raise Unauthenticated("Token no válido para esta agencia.")
    return StaffActor(
        user_id=claims.sub,
        agency_id=claims.agency,
        role=membership.role,
        family_id=claims.family,
        name=membership.user.display_name,
    )


# --- Widget keys and origins ------------------------------------------------


def widget_key_create(*, actor: StaffActor, name: str = "") -> WidgetKey:
    with scope(agency=actor.agency_id):
        key = WidgetKey.objects.create(agency_id=actor.agency_id, name=name[:100])
    from tenancy.audit import audit_record

    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="widget_key.create", target=str(key.id))
    return key


def widget_key_revoke(*, actor: StaffActor, key: WidgetKey) -> None:
    """Revoke a key: new sessions with it are refused at once, and open lead
    sockets opened through it are closed with 4403."""
    if key.agency_id != actor.agency_id:
        raise NotFound()
    with scope(agency=actor.agency_id):
        WidgetKey.objects.filter(id=key.id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    from tenancy.audit import audit_record

    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="widget_key.revoke", target=str(key.id))
    from chat.events import announce_key_revoked

    transaction.on_commit(lambda: announce_key_revoked(agency_id=actor.agency_id, key_id=key.id))


def origin_add(*, actor: StaffActor, origin: str) -> AllowedOrigin:
    try:
        normalised = normalize_origin(origin)
    except InvalidOrigin as exc:
        raise ApplicationError(str(exc), code="validation_error", fields={"origin": [str(exc)]}) from None
    with scope(agency=actor.agency_id):
        try:
            with transaction.atomic():
                return AllowedOrigin.objects.create(agency_id=actor.agency_id, origin=normalised)
        except IntegrityError:
            return AllowedOrigin.objects.get(agency_id=actor.agency_id, origin=normalised)


def origin_remove(*, actor: StaffActor, origin: AllowedOrigin) -> None:
    with scope(agency=actor.agency_id):
        AllowedOrigin.objects.filter(id=origin.id).delete()


def user_for_email(email: str) -> User | None:
    with scopes_disabled():
        return User.objects.filter(email=email.strip().lower()).first()
