"""The tenant (Agency), its staff (User × Membership × role), and what lets a
website talk to it (widget keys and allowed origins).

Every agency-owned model carries an `agency` foreign key and a django-scopes
`ScopedManager`: a query outside `scope(agency=...)` raises instead of quietly
reading every tenant's rows (pretix's pattern, STYLE.md §2).
"""

from __future__ import annotations

import secrets
import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.timezone import now
from django_scopes import ScopedManager


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"
    VIEWER = "viewer", "Viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.value]

    def at_least(self, other: "Role | str") -> bool:
        return ROLE_RANK[self.value] >= ROLE_RANK[Role(other).value]


ROLE_RANK = {"viewer": 0, "agent": 1, "admin": 2, "owner": 3}


class EmailUserManager(UserManager):
    def create_user(self, email, password=None, **extra):  # type: ignore[override]
        email = self.normalize_email(email).lower()
        extra.setdefault("username", email)
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):  # type: ignore[override]
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in. Platform staff use Django admin (is_staff);
    agency staff reach agencies through Membership."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = EmailUserManager()

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]


def default_branding() -> dict:
    return {"primary_color": "#4f46e5", "greeting": "¡Hola! ¿Hablamos de tu marketing?", "position": "right", "logo": None}


def default_settings() -> dict:
    return {
        "privacy_policy": {"url": "", "version": "1"},
        "scoring": {"budget": 35, "timeline": 20, "fit": 25, "completeness": 20},
        "self_serve_budget_threshold": 500,
        "notification_emails": [],
        "retention": {"unconsented_days": 30, "qualified_months": 24},
        "llm_daily_token_quota": 2_000_000,
    }


class Agency(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    locale = models.CharField(max_length=8, default="es")
    timezone = models.CharField(max_length=64, default="Europe/Madrid")
    branding = models.JSONField(default=default_branding)
    settings = models.JSONField(default=default_settings)
    created = models.DateTimeField(default=now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name

    def setting(self, key: str, default=None):
        """Agency settings merged over defaults, so old rows gain new keys."""
        return {**default_settings(), **(self.settings or {})}.get(key, default)


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created = models.DateTimeField(default=now)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}:{self.role}"


def new_widget_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


class WidgetKey(models.Model):
    """The public key a website embeds. Not a secret (it is in the page's HTML):
    the Origin check is what binds it to the agency's sites."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="widget_keys")
    key = models.CharField(max_length=64, unique=True, default=new_widget_key)
    name = models.CharField(max_length=100, blank=True, default="")
    created = models.DateTimeField(default=now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(agency="agency")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AllowedOrigin(models.Model):
    """`scheme://host[:port]`, or `https://*.example.com` for its subdomains."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="origins")
    origin = models.CharField(max_length=255)
    created = models.DateTimeField(default=now)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "origin"], name="uniq_agency_origin")]


class Invitation(models.Model):
    """An invitation to join an agency with a role. The link's token is shown
    once (in the email); only its SHA-256 is stored, so a database dump cannot
    be used to join. Single use, and it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.UUIDField(null=True, blank=True)
    created = models.DateTimeField(default=now)
    expires = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user_id = models.UUIDField(null=True, blank=True)

    objects = ScopedManager(agency="agency")

    class Meta:
        indexes = [models.Index(fields=["agency", "-created"], name="invitation_agency_created")]


class TokenFamily(models.Model):
    """One login: every refresh token rotated from it shares the family, and
    revoking the family (logout, or a spent refresh token presented again)
    invalidates all of them and the access tokens they minted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(default=now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, default="")


class RefreshToken(models.Model):
    jti = models.UUIDField(primary_key=True)
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="tokens")
    issued = models.DateTimeField(default=now)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes are refused: append-only tables (audit, consent,
    events) are corrected by appending, never by rewriting history. Erasure of
    personal data goes through dedicated services that redact explicitly."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model.__name__} is append-only")

    def delete(self):
        raise PermissionError(f"{self.model.__name__} is append-only")


class AuditLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    actor_user_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=64, blank=True, default="")
    ip = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=now, db_index=True)

    objects = ScopedManager(agency="agency", _manager_class=models.Manager.from_queryset(AppendOnlyQuerySet))

    class Meta:
        indexes = [models.Index(fields=["agency", "-created"], name="audit_agency_created")]
