"""Models of the strategy app: the lead's written strategy (and, in its own
block, the agency's knowledge documents)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from project.crypto import EncryptedJSONField, EncryptedTextField
from tenancy.models import Agency


# --- Strategies -------------------------------------------------------------------


class Strategy(models.Model):
    """One strategy per (lead, answers version): the key that makes a duplicate
    or redelivered task find the row it already wrote instead of writing,
    rendering or emailing a second one."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        GENERATING = "generating"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey("qualification.Lead", on_delete=models.CASCADE, related_name="strategies")
    answers_version = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # The document as the writer returned it; it names the lead's company and
    # paraphrases their answers, so it is personal data.
    content = EncryptedJSONField(null=True, blank=True)
    summary = EncryptedTextField(blank=True, default="")
    writer = models.CharField(max_length=12, blank=True, default="")  # llm | offline
    template_version = models.CharField(max_length=32, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    qa_failures = models.JSONField(default=list, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    model = models.CharField(max_length=64, blank=True, default="")
    # Storage name of the PDF (agency-scoped path); blank until rendered.
    pdf_name = models.CharField(max_length=255, blank=True, default="")
    pdf_bytes = models.PositiveIntegerField(default=0)
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    # Stamped in the same transaction (and row lock) that sends the email, so
    # a duplicate or redelivered task never sends a second one.
    lead_emailed_at = models.DateTimeField(null=True, blank=True)
    agency_notified_at = models.DateTimeField(null=True, blank=True)
    generation_started_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "answers_version"], name="uniq_strategy_lead_version"),
        ]
        indexes = [models.Index(fields=["agency", "status", "-created"], name="strategy_agency_status")]
        verbose_name_plural = "strategies"


# --- Knowledge base (strategy/knowledge/) ----------------------------------------


def knowledge_upload_to(instance: KnowledgeDocument, filename: str) -> str:
    # The client's file name never reaches the file system: it is only metadata.
    return f"knowledge/{instance.agency_id}/{uuid.uuid4()}"


class KnowledgeDocument(models.Model):
    """A document an agency uploaded for its strategies to cite. Its text lives
    in the vector store as chunks (points keyed by document id and index); the
    row says which file is current and how far indexing got."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        INDEXING = "indexing"
        READY = "ready"
        FAILED = "failed"

    class Kind(models.TextChoices):
        PDF = "pdf"
        DOCX = "docx"
        MARKDOWN = "markdown"
        TEXT = "text"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="knowledge_documents")
    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=knowledge_upload_to, max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=500, blank=True, default="")
    chunk_count = models.PositiveIntegerField(default=0)
    # The sha256 whose chunks are in the vector store: lets a stale index task notice it lost a race.
    indexed_sha256 = models.CharField(max_length=64, blank=True, default="")
    uploaded_by = models.UUIDField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    objects = ScopedManager(agency="agency")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "sha256"], name="uniq_knowledge_agency_sha256")]
        indexes = [models.Index(fields=["agency", "created"], name="knowledge_agency_created")]

    def __str__(self) -> str:
        return self.title


# --- End of knowledge base -------------------------------------------------------
