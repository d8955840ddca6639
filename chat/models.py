"""Conversations, their turns, staff notes, and the append-only log of every
persisted frame (so a socket's replay is a query, not a reconstruction)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from project.crypto import EncryptedJSONField, EncryptedTextField
from tenancy.models import Agency, WidgetKey


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        QUALIFIED = "qualified"
        DECLINED = "declined"
        CLOSED = "closed"

    class Owner(models.TextChoices):
        BOT = "bot"
        STAFF = "staff"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="conversations")
    visitor_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    widget_key = models.ForeignKey(WidgetKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flow_version = models.ForeignKey(
        "qualification.FlowVersion", on_delete=models.PROTECT, related_name="conversations", null=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    step = models.CharField(max_length=64, default="")
    progress = models.FloatField(default=0.0)
    owner_kind = models.CharField(max_length=5, choices=Owner.choices, default=Owner.BOT)
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Highest seq handed out; allocated under this row's lock (services.frame_append).
    last_seq = models.PositiveIntegerField(default=0)
    locale = models.CharField(max_length=8, default="es")
    page_url = models.CharField(max_length=500, blank=True, default="")
    origin = models.CharField(max_length=255, blank=True, default="")
    # This service's own base URL as the widget reached it: links made later
    # by a worker (the strategy PDF) must point here, not at the lead's site,
    # and a worker has no request to read it from when PUBLIC_BASE_URL is unset.
    server_base = models.CharField(max_length=255, blank=True, default="")
    consent_granted = models.BooleanField(default=False)
    # A staff member trying a flow version from the console: the chat is real,
    # but it is no lead (no CRM, webhooks, strategy, analytics or staff list).
    is_preview = models.BooleanField(default=False)
    last_message_preview = EncryptedTextField(blank=True, default="")
    last_message_role = models.CharField(max_length=10, blank=True, default="")
    last_message_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        indexes = [
            # The staff list pages by (-updated, -id): with the id in the index
            # MariaDB reads one page instead of sorting every conversation.
            models.Index(fields=["agency", "-updated", "-id"], name="conv_agency_updated_id"),
            models.Index(fields=["agency", "status", "-updated", "-id"], name="conv_agency_status_id"),
            models.Index(fields=["agency", "-created"], name="conv_agency_created"),
            # Analytics leave previews out with an anti-join on this (tiny) set.
            models.Index(fields=["agency", "is_preview"], name="conv_agency_preview"),
        ]


class Turn(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead"
        ASSISTANT = "assistant"
        AGENT = "agent"
        SYSTEM = "system"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    text = EncryptedTextField()
    client_id = models.UUIDField(null=True, blank=True)
    stopped = models.BooleanField(default=False)
    failed = models.BooleanField(default=False)
    agent_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=32, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    # Blind word tokens of `text` (project.search), FULLTEXT-indexed on MySQL.
    search_tokens = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [
            # A resent lead message (same client_id) is never stored twice.
            models.UniqueConstraint(fields=["conversation", "client_id"], name="uniq_turn_client_id"),
            models.UniqueConstraint(fields=["conversation", "seq"], name="uniq_turn_seq"),
        ]
        indexes = [
            models.Index(fields=["agency", "-created"], name="turn_agency_created"),
            # "Did the lead say anything?" per conversation, from the index alone (analytics funnel).
            models.Index(fields=["conversation", "role"], name="turn_conversation_role"),
            # Usage analytics sum and rank these small columns over a range of an
            # agency's turns: from the index alone, never the encrypted rows.
            models.Index(fields=["agency", "role", "created", "conversation", "prompt_tokens", "completion_tokens",
                                 "first_token_ms", "duration_ms"], name="turn_usage"),
        ]


class ConversationEvent(models.Model):
    """Every persisted frame, exactly as sent, keyed by its seq."""

    id = models.BigAutoField(primary_key=True)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    staff_only = models.BooleanField(default=False)
    payload = EncryptedJSONField()
    created = models.DateTimeField(default=timezone.now)

    # Not append-only at the ORM level: RGPD erasure redacts lead text in place.
    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "seq"], name="uniq_event_seq")]
        indexes = [models.Index(fields=["agency", "type", "created"], name="event_agency_type")]


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = EncryptedTextField()
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")
