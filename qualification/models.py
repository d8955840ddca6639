"""Versioned flows, the lead being qualified, and its immutable event log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from project.crypto import EncryptedJSONField, EncryptedTextField
from tenancy.models import Agency, AppendOnlyQuerySet


class Flow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=120, default="Cualificación")
    is_default = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")


class FlowVersion(models.Model):
    """One immutable version of a flow. Drafts may change; a published version
    never does, so conversations started on it keep their questions."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        ARCHIVED = "archived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    definition = models.JSONField()
    created = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flow", "number"], name="uniq_flow_version")]


class Lead(models.Model):
    """The lead behind a conversation. Its state is a projection of its
    LeadEvents (`rebuild_leads` replays them and must reproduce it exactly)."""

    class Status(models.TextChoices):
        COLLECTING = "collecting"
        QUALIFIED = "qualified"
        DECLINED = "declined"
        ERASED = "erased"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="leads")
    conversation = models.OneToOneField("chat.Conversation", on_delete=models.CASCADE, related_name="lead")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COLLECTING)
    answers = EncryptedJSONField(default=dict)
    # Bumped on every change of answers: a strategy is keyed by (lead, answers_version).
    answers_version = models.PositiveIntegerField(default=0)
    name = EncryptedTextField(blank=True, default="")
    email = EncryptedTextField(blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone = EncryptedTextField(blank=True, default="")
    company = EncryptedTextField(blank=True, default="")
    sector = models.CharField(max_length=40, blank=True, default="")
    # A choice value ("inmediato", "1_3_meses"…), not personal: kept in clear
    # so analytics can group by it in SQL (answers are encrypted).
    timeline = models.CharField(max_length=32, blank=True, default="")
    budget_monthly = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    score_reasons = models.JSONField(default=list, blank=True)
    consent_granted = models.BooleanField(default=False)
    consent_policy = models.CharField(max_length=32, blank=True, default="")
    consent_at = models.DateTimeField(null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    qualified_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        # The lead list's order (-created, -id) in full: with the cursor's id
        # tiebreaker missing, MariaDB sorted every lead of the agency per page.
        indexes = [
            models.Index(fields=["agency", "status", "-created", "-id"], name="lead_agency_status_id"),
            models.Index(fields=["agency", "-created", "-id"], name="lead_agency_created_id"),
        ]


class LeadEvent(models.Model):
    """Immutable: answers, edits, transitions, consent and score changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    data = EncryptedJSONField(default=dict)
    # For `step.changed`, the flow field the lead moved to: a question's name,
    # not personal, in clear so the funnel is one GROUP BY over the log.
    step = models.CharField(max_length=64, blank=True, default="")
    actor = models.CharField(max_length=64, blank=True, default="lead")
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency", _manager_class=models.Manager.from_queryset(AppendOnlyQuerySet))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "seq"], name="uniq_lead_event_seq")]
        indexes = [models.Index(fields=["agency", "type", "created"], name="leadevent_agency_type"),
                   models.Index(fields=["agency", "type", "step"], name="leadevent_agency_step"),
                   # The funnel joins a range of conversations to their leads' events: covering.
                   models.Index(fields=["lead", "type", "step"], name="leadevent_lead_type_step")]


class ConsentRecord(models.Model):
    """RGPD consent as given: append-only, with the text the lead saw."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="consents")
    granted = models.BooleanField()
    policy_version = models.CharField(max_length=32)
    policy_url = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency", _manager_class=models.Manager.from_queryset(AppendOnlyQuerySet))


class Erasure(models.Model):
    """A record that a lead was erased (RGPD art. 17). The same entry is also
    appended to an erasure log file outside the database
    (settings.ERASURE_LOG_PATH), so `replay_erasures` can apply it again
    after a backup taken before the erasure is restored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    lead_id = models.UUIDField(db_index=True)
    conversation_id = models.UUIDField()
    requested_by = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=32, default="request")
    created = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency", _manager_class=models.Manager.from_queryset(AppendOnlyQuerySet))
