"""Writes of tenancy data: agencies, memberships, logins, keys and origins."""

from __future__ import annotations

import secrets
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
    from tenancy.audit import audit_record

    with scope(agency=actor.agency_id):
        try:
            with transaction.atomic():
                created = AllowedOrigin.objects.create(agency_id=actor.agency_id, origin=normalised)
        except IntegrityError:
            return AllowedOrigin.objects.get(agency_id=actor.agency_id, origin=normalised)
    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="origin.add", target=str(created.id),
                 data={"origin": normalised})
    return created


def origin_remove(*, actor: StaffActor, origin: AllowedOrigin) -> None:
    """Remove an allowed origin: the next widget session from it is refused."""
    from tenancy.audit import audit_record

    with scope(agency=actor.agency_id):
        AllowedOrigin.objects.filter(id=origin.id).delete()
    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="origin.remove", target=str(origin.id),
                 data={"origin": origin.origin})


def user_for_email(email: str) -> User | None:
    with scopes_disabled():
        return User.objects.filter(email=email.strip().lower()).first()


# --- Self-service sign-up (CONTRACT §5.1) ---------------------------------------


class SignupDisabled(ApplicationError):
    status = 403
    code = "signup_disabled"


def _password_errors(password: str, *, email: str, name: str) -> list[str]:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user=User(email=email, username=email, name=name))
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _login_pair(*, user: User, agency_id, role: str) -> TokenPair:
    with transaction.atomic():
        family = TokenFamily.objects.create(user=user, agency_id=agency_id)
        return _issue_pair(user_id=user.id, agency_id=agency_id, role=role, family_id=family.id)


def agency_signup(*, agency_name: str, name: str, email: str, password: str, ip: str) -> TokenPair:
    """A new agency signs itself up: agency, owner, default flow, one widget
    key, no origins; answers the owner's first token pair.

    Preconditions: settings.SIGNUP_ENABLED; at most SIGNUP_PER_IP_PER_HOUR
    sign-ups per IP (429 beyond); `email` not taken (400 naming `email`);
    `password` passes Django's validators (400 naming `password`)."""
    if not settings.SIGNUP_ENABLED:
        raise SignupDisabled("El registro de agencias está desactivado.")
    verdict = window_hit(f"signup:ip:{ip}", limit=settings.SIGNUP_PER_IP_PER_HOUR, window_seconds=3600)
    if not verdict.allowed:
        raise RateLimited("Demasiados registros desde esta conexión.", retry_after=verdict.retry_after)
    email = email.strip().lower()
    if user_for_email(email) is not None:
        raise ApplicationError("Este email ya está registrado.", code="email_taken", fields={"email": ["taken"]})
    problems = _password_errors(password, email=email, name=name)
    if problems:
        raise ApplicationError(problems[0], code="validation_error", fields={"password": problems})
    try:
        with transaction.atomic():
            agency = agency_create(name=agency_name, owner_email=email, owner_password=password, owner_name=name)
            user = User.objects.get(email=email)
            pair = _login_pair(user=user, agency_id=agency.id, role=Role.OWNER)
    except IntegrityError:
        # Two sign-ups raced for the same email: the unique index decided.
        raise ApplicationError("Este email ya está registrado.", code="email_taken", fields={"email": ["taken"]}) from None
    from tenancy.audit import audit_record

    audit_record(agency_id=agency.id, actor_user_id=user.id, action="agency.signup", ip=ip)
    return pair


# --- Agency profile: branding, privacy policy, scoring, notifications ------------


def agency_update(*, actor: StaffActor, changes: dict, logo: bytes | None = None, ip: str = "") -> Agency:
    """Apply a validated partial update of the agency's profile.

    Preconditions: `actor` is admin+; `changes` was validated by the API
    (keys: name, locale, branding{primary_color, greeting, position, logo:None},
    privacy_policy{url, version}, scoring{factor: weight}, notification_emails);
    `logo` is uploaded bytes, checked here by content (400 naming `logo`);
    the scoring weights must not all be 0 (400 naming `scoring`).
    A new privacy-policy version makes leads consent again
    (qualification.services.qualification_policy_refresh)."""
    from project.api.errors import Forbidden
    from tenancy.audit import audit_record
    from tenancy.logos import InvalidLogo, check_logo, logo_store

    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede cambiar la agencia.")
    if logo is not None:
        try:
            check_logo(logo)
        except InvalidLogo as exc:
            raise ApplicationError(str(exc), code="validation_error", fields={"logo": [str(exc)]}) from None
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(id=actor.agency_id)
        before_policy = dict(agency.setting("privacy_policy") or {})
        for field_name in ("name", "locale"):
            if field_name in changes:
                setattr(agency, field_name, changes[field_name])
        branding = {**(agency.branding or {})}
        for key, value in (changes.get("branding") or {}).items():
            if key == "logo":  # only ever None here: removal
                branding["logo"] = None
                branding["logo_url"] = None
            else:
                branding[key] = value
        if logo is not None:
            path = logo_store(logo)
            branding["logo"] = path
            branding["logo_url"] = f"/widget/logos/{path.rsplit('/', 1)[-1]}"
        agency.branding = branding
        agency_settings = {**(agency.settings or {})}
        if "privacy_policy" in changes:
            agency_settings["privacy_policy"] = {**before_policy, **changes["privacy_policy"]}
        if "scoring" in changes:
            weights = {**(agency.setting("scoring") or {}), **changes["scoring"]}
            if sum(weights.values()) <= 0:
                raise ApplicationError("Al menos un factor debe pesar más de 0.", code="validation_error",
                                       fields={"scoring": ["all_zero"]})
            agency_settings["scoring"] = weights
        if "notification_emails" in changes:
            agency_settings["notification_emails"] = list(changes["notification_emails"])
        agency.settings = agency_settings
        agency.save()
        changed = sorted(set(changes) | ({"branding"} if logo is not None else set()))
        data = {"fields": changed}
        after_policy = agency.setting("privacy_policy") or {}
        if str(after_policy.get("version")) != str(before_policy.get("version")):
            data["privacy_policy_version"] = {"from": before_policy.get("version"), "to": after_policy.get("version")}
        audit_record(agency_id=agency.id, actor_user_id=actor.user_id, action="agency.update", ip=ip, data=data)
    return agency


# --- Members and invitations -----------------------------------------------------


class LastOwner(ApplicationError):
    code = "last_owner"


class InvitationGone(ApplicationError):
    status = 410


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def invitation_check_usable(invitation) -> None:
    """404 for no invitation, 410 `invitation_used` / `invitation_expired`."""
    if invitation is None:
        raise NotFound()
    if invitation.accepted_at is not None:
        raise InvitationGone("Esta invitación ya se ha usado.", code="invitation_used")
    if invitation.expires <= timezone.now():
        raise InvitationGone("Esta invitación ha caducado: pide otra.", code="invitation_expired")


def invitation_create(*, actor: StaffActor, email: str, role: str, base_url: str, ip: str = ""):
    """Invite someone by email with a role; the email carries the single-use
    accept link `{base_url}/console/invitations/<token>`.

    Preconditions: `actor` is owner; `role` is a Role value; `email` is not
    already a member of the agency (400 naming `email`). The token is random
    (256 bits) and only its hash is stored; it expires after
    INVITATION_TTL. Returns (invitation, token)."""
    from django.core.mail import send_mail

    from project.api.errors import Forbidden
    from tenancy.audit import audit_record
    from tenancy.models import Invitation

    if not actor.has_role("owner"):
        raise Forbidden("Solo el propietario gestiona los miembros.")
    email = email.strip().lower()
    with scope(agency=actor.agency_id):
        if Membership.objects.filter(user__email=email).exists():
            raise ApplicationError("Esa persona ya es miembro de la agencia.", code="already_member",
                                   fields={"email": ["already_member"]})
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            agency_id=actor.agency_id, email=email, role=role, token_hash=_token_hash(token),
            invited_by=actor.user_id, expires=timezone.now() + settings.INVITATION_TTL,
        )
    agency = Agency.objects.get(id=actor.agency_id)
    link = f"{base_url.rstrip('/')}/console/invitations/{token}"
    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="member.invite",
                 target=str(invitation.id), ip=ip, data={"role": role})
    # Sent from this process, not a task: the plaintext token must not sit in
    # the broker. Robust: a mail failure is logged and the owner can invite again.
    transaction.on_commit(lambda: send_mail(
        subject=f"Te han invitado a {agency.name} en Markezy",
        message=(f"{actor.name or 'Alguien'} te invita a unirte a {agency.name} en Markezy como {role}.\n\n"
                 f"Acepta la invitación aquí (caduca en {settings.INVITATION_TTL.days} días, un solo uso):\n{link}\n"),
        from_email=None, recipient_list=[email],
    ), robust=True)
    return invitation, token


def invitation_revoke(*, actor: StaffActor, invitation, ip: str = "") -> None:
    """Withdraw a pending invitation: its link answers 404 from now on.
    Precondition: `actor` is owner; `invitation` came from access_invitation."""
    from project.api.errors import Forbidden
    from tenancy.audit import audit_record
    from tenancy.models import Invitation

    if not actor.has_role("owner"):
        raise Forbidden("Solo el propietario gestiona los miembros.")
    with scope(agency=actor.agency_id):
        Invitation.objects.filter(id=invitation.id, accepted_at__isnull=True).delete()
    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="member.invite_revoke",
                 target=str(invitation.id), ip=ip)


def invitation_accept(*, token: str, name: str, password: str, ip: str = "") -> TokenPair:
    """Accept an invitation once: creates the user (or, for an email that
    already has an account, checks its password and adds the membership) and
    returns a token pair in the inviting agency.

    Answers 404 for an unknown token, 410 `invitation_used` for one already
    accepted and 410 `invitation_expired` past its expiry."""
    from tenancy.audit import audit_record
    from tenancy.models import Invitation

    with transaction.atomic():
        with scopes_disabled():
            invitation = Invitation.objects.select_for_update().filter(token_hash=_token_hash(token or "")).first()
        invitation_check_usable(invitation)
        user = user_for_email(invitation.email)
        if user is None:
            problems = _password_errors(password, email=invitation.email, name=name)
            if problems:
                raise ApplicationError(problems[0], code="validation_error", fields={"password": problems})
            user = User.objects.create_user(invitation.email, password, name=name)
        elif not user.check_password(password or ""):
            raise ApplicationError("Ya tienes una cuenta con este email: escribe su contraseña.",
                                   code="wrong_password", fields={"password": ["wrong_password"]})
        with scope(agency=invitation.agency_id):
            existing = Membership.objects.filter(user=user).first()
            if existing is None:
                Membership.objects.create(agency_id=invitation.agency_id, user=user, role=invitation.role)
                role = invitation.role
            else:
                role = existing.role
            invitation.accepted_at = timezone.now()
            invitation.accepted_user_id = user.id
            invitation.save(update_fields=["accepted_at", "accepted_user_id"])
        pair = _login_pair(user=user, agency_id=invitation.agency_id, role=role)
        audit_record(agency_id=invitation.agency_id, actor_user_id=user.id, action="member.join",
                     target=str(invitation.id), ip=ip, data={"role": role})
    return pair


def _lock_owners(agency_id) -> list:
    return list(Membership.objects.select_for_update().filter(agency_id=agency_id, role=Role.OWNER).values_list("id", flat=True))


def member_role_change(*, actor: StaffActor, membership: Membership, role: str, ip: str = "") -> Membership:
    """Change a member's role; it applies to their next request (tokens carry
    no authority: the role is read per request). The last owner cannot be
    demoted (400 `last_owner`). Precondition: `actor` is owner."""
    from project.api.errors import Forbidden
    from tenancy.audit import audit_record

    if not actor.has_role("owner"):
        raise Forbidden("Solo el propietario gestiona los miembros.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        owners = _lock_owners(actor.agency_id)
        current = Membership.objects.select_for_update().get(id=membership.id)
        if current.role == role:
            return current
        if current.role == Role.OWNER and owners == [current.id]:
            raise LastOwner("La agencia necesita al menos un propietario: nombra otro antes.")
        before = current.role
        current.role = role
        current.save(update_fields=["role"])
        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="member.role_change",
                     target=str(current.user_id), ip=ip, data={"from": before, "to": role})
    return current


def member_remove(*, actor: StaffActor, membership: Membership, ip: str = "") -> None:
    """Remove a member; their tokens stop working at once (membership is
    checked per request). The last owner cannot leave (400 `last_owner`).
    Precondition: `actor` is owner."""
    from project.api.errors import Forbidden
    from tenancy.audit import audit_record

    if not actor.has_role("owner"):
        raise Forbidden("Solo el propietario gestiona los miembros.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        owners = _lock_owners(actor.agency_id)
        current = Membership.objects.select_for_update().get(id=membership.id)
        if current.role == Role.OWNER and owners == [current.id]:
            raise LastOwner("La agencia necesita al menos un propietario: no puede quedarse sin él.")
        current.delete()
        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="member.remove",
                     target=str(current.user_id), ip=ip, data={"role": current.role})
