"""The agency's Clientify connection, each lead's sync state, erasure tombstones,
and outbound webhook endpoints with their deliveries (CONTRACT §6, §7).

Secrets (the Clientify token, webhook secrets) and payloads that may carry
personal data are encrypted at rest like every other personal datum.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from project.crypto import EncryptedJSONField, EncryptedTextField
from tenancy.models import Agency


def new_inbound_secret() -> str:
    return secrets.token_urlsafe(24)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class ClientifyConnection(models.Model):
    """One per agency. Its health columns double as the per-agency circuit breaker."""

    class Breaker(models.TextChoices):
        CLOSED = "closed"
        OPEN = "open"
        HALF_OPEN = "half_open"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="clientify")
    api_token = EncryptedTextField(blank=True, default="")
    token_last4 = models.CharField(max_length=4, blank=True, default="")
    enabled = models.BooleanField(default=False)
    field_mapping = models.JSONField(default=dict, blank=True)
    account = models.JSONField(default=dict, blank=True)
    # The path Clientify posts its hooks to: unguessable, so it authenticates the sender.
    inbound_secret = models.CharField(max_length=64, unique=True, default=new_inbound_secret)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    breaker_state = models.CharField(max_length=10, choices=Breaker.choices, default=Breaker.CLOSED)
    breaker_opened_at = models.DateTimeField(null=True, blank=True)
    # While half-open, only the call holding this lease may reach Clientify.
    breaker_probe_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")


class CrmSync(models.Model):
    """A lead's sync state; its row lock is the per-lead lock of the sync."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SYNCED = "synced"
        FAILED = "failed"
        ERASED = "erased"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    lead = models.OneToOneField("qualification.Lead", on_delete=models.CASCADE, related_name="crm_sync")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    contact_id = models.BigIntegerField(null=True, blank=True)
    contact_url = models.CharField(max_length=500, blank=True, default="")
    # The address last sent upstream, so an erasure can find a contact whose id we never learnt.
    email_sent = EncryptedTextField(blank=True, default="")
    deal_id = models.BigIntegerField(null=True, blank=True)
    # Set before a deal is created: if that answer is lost, the retry looks for the deal first.
    deal_requested_at = models.DateTimeField(null=True, blank=True)
    note_digest = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    last_error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)
    # What Clientify tells us back through its hooks.
    contact_status = models.CharField(max_length=40, blank=True, default="")
    deal_status = models.CharField(max_length=10, blank=True, default="")
    crm_updated_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        indexes = [
            models.Index(fields=["agency", "dead_lettered_at"], name="crmsync_agency_dead"),
            models.Index(fields=["agency", "contact_id"], name="crmsync_agency_contact"),
        ]

    @property
    def dead_lettered(self) -> bool:
        return self.dead_lettered_at is not None


class CrmTombstone(models.Model):
    """An erased lead: no later sync may recreate its contact."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    lead_id = models.UUIDField(unique=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    deleted_upstream_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=1000)
    description = models.CharField(max_length=200, blank=True, default="")
    secret = EncryptedTextField()
    # The secret replaced by the last rotation keeps signing until it expires, so receivers can switch over.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=list, blank=True)  # empty: every event
    active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    def wants(self, type: str) -> bool:
        return self.active and (not self.event_types or type in self.event_types)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    type = models.CharField(max_length=40)
    payload = EncryptedJSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Retries go on for the window from here; a replay starts a new window.
    window_started_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="uniq_delivery_event")]
        indexes = [models.Index(fields=["endpoint", "-created"], name="delivery_endpoint_created")]

    @property
    def dead_lettered(self) -> bool:
        return self.dead_lettered_at is not None
