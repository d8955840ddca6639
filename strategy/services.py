"""Writes of the strategy pipeline: queue a qualified lead's strategy, write
it (LLM with QA, else the template writer), render and store its PDF, tell
the lead and staff, and deliver it by email — each step idempotent.

A strategy is keyed by (lead, answers_version). Every step re-reads the row
under its lock and skips what is already done, so a duplicate task, a retry,
or a task redelivered after its worker was killed never produces a second
strategy, PDF or email. The slow parts (retrieval, the LLM, WeasyPrint) run
outside any transaction; only their results are written under the lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from chat import frames
from chat.hub import publish_from_sync
from chat.models import Conversation
from chat.services import Effects, conversation_touch, frame_append
from project.celery import enqueue_now, enqueue_on_commit
from qualification.models import Lead
from strategy import delivery, storage
from strategy.links import public_base
from strategy.models import Strategy
from strategy.selectors import strategy_pdf_link

logger = logging.getLogger(__name__)


# --- Frames ------------------------------------------------------------------------


def _announce(strategy: Strategy, *, pdf_url: str | None = None) -> None:
    """Append the `strategy` frame and publish it after commit.

    Precondition: inside a transaction, in the agency's scope. Takes the
    conversation's row lock (seq allocation), so it must run before any lock
    the caller would take after it in qualification's order."""
    from chat.services import _summary

    conversation = Conversation.objects.select_for_update().select_related("agency").get(
        id=strategy.lead.conversation_id)
    frame = frame_append(conversation, type="strategy",
                         build=lambda seq: frames.strategy_frame(seq=seq, strategy_id=strategy.id, status=strategy.status,
                                                                 pdf_url=pdf_url))
    conversation_touch(conversation)
    effects = Effects(conversation_id=conversation.id, agency_id=conversation.agency_id, frames=[frame],
                      summary=_summary(conversation, lead=strategy.lead))
    transaction.on_commit(lambda: publish_from_sync(effects))


def _locked(strategy_id, agency_id, *, conversation: bool) -> Strategy | None:
    """The strategy row, locked. With conversation=True the conversation is
    locked first: the chat's order is conversation → lead → strategy, and a
    transaction that will announce a frame must take them in that order too.
    Delivery passes False so an SMTP round trip never holds up the chat."""
    if conversation:
        conversation_id = (Strategy.objects.filter(id=strategy_id, agency_id=agency_id)
                           .values_list("lead__conversation_id", flat=True).first())
        if conversation_id is None:
            return None
        list(Conversation.objects.select_for_update().filter(id=conversation_id).values_list("id", flat=True))
    # The strategy row alone: MariaDB has no FOR UPDATE OF, and a joined
    # lock would also hold the lead and the conversation.
    strategy = Strategy.objects.select_for_update().filter(id=strategy_id, agency_id=agency_id).first()
    if strategy is not None:
        strategy.lead = Lead.objects.select_related("conversation", "agency").get(id=strategy.lead_id)
        strategy.agency = strategy.lead.agency
    return strategy


# --- Queue ---------------------------------------------------------------------------


def strategy_request(*, lead_id, agency_id) -> Strategy | None:
    """Queue the strategy of a qualified lead's current answers (idempotent).

    Called after the commit that qualified (or re-scored) the lead. Does
    nothing for a lead that is not qualified, lacks consent or was erased,
    and returns the existing row when this answers version already has one."""
    from strategy import tasks

    with transaction.atomic(), scope(agency=agency_id):
        lead = Lead.objects.filter(id=lead_id, agency_id=agency_id).only("conversation_id").first()
        if lead is None:
            return None
        # qualification's lock order: the conversation, then the lead.
        Conversation.objects.select_for_update().filter(id=lead.conversation_id).exists()
        lead = Lead.objects.select_for_update().select_related("conversation").get(id=lead_id)
        if lead.status != Lead.Status.QUALIFIED or not lead.consent_granted:
            return None
        strategy, created = Strategy.objects.get_or_create(
            lead=lead, answers_version=lead.answers_version, defaults={"agency_id": agency_id},
        )
        if not created:
            return strategy
        strategy.lead = lead
        # Older versions still waiting are superseded: the lead gets one
        # strategy, for what they said last.
        Strategy.objects.filter(lead=lead, status=Strategy.Status.QUEUED).exclude(id=strategy.id).update(
            status=Strategy.Status.FAILED, error="superseded", updated=timezone.now())
        _announce(strategy)
        enqueue_on_commit(tasks.strategy_generate, str(strategy.id), str(agency_id))
        return strategy


# --- Generate --------------------------------------------------------------------------


def _retrieve(*, agency_id, answers: dict) -> list[dict]:
    try:
        from strategy.knowledge.selectors import knowledge_for_strategy
    except ImportError:  # the knowledge base is optional in a slim build
        return []
    try:
        return knowledge_for_strategy(agency_id=agency_id, answers=answers, limit=6)
    except Exception:  # noqa: BLE001 - a vector store outage must not cost the lead its strategy
        logger.exception("knowledge retrieval failed; writing without the agency's documents")
        return []


def _write(*, agency, answers: dict, knowledge: list[dict]) -> tuple[dict, dict]:
    from chat.llm.registry import provider_for_agency
    from strategy.writer import write_strategy

    async def run() -> tuple[dict, dict]:
        provider = provider_for_agency(agency.settings)
        try:
            return await write_strategy(provider=provider, answers=answers, agency_name=agency.name,
                                        knowledge=knowledge, services=agency.setting("services"))
        finally:
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()

    # A worker thread has no loop of its own; the writer is async because the
    # providers are (the same ones stream the chat).
    return asyncio.run(run())


def _pdf_inputs(strategy: Strategy) -> tuple[dict, dict]:
    lead = strategy.lead
    agency = strategy.agency
    lead_data = {**(lead.answers or {}), "company": lead.company or (lead.answers or {}).get("company"),
                 "name": lead.name or (lead.answers or {}).get("name")}
    branding = agency.branding or {}
    logo = branding.get("logo")
    logo_path = None
    if isinstance(logo, str) and logo:
        from django.core.files.storage import default_storage

        try:
            logo_path = default_storage.path(logo) if default_storage.exists(logo) else None
        except NotImplementedError:  # a remote storage: the PDF goes without a logo
            logo_path = None
    return lead_data, {"name": agency.name, "primary_color": branding.get("primary_color"), "logo_path": logo_path}


def strategy_generate(*, strategy_id, agency_id) -> None:
    """Write, render and store a queued strategy, announce it, then deliver it.

    Idempotent and safe to run twice at once: a strategy already ready is
    only delivered (what was not yet sent); one superseded or erased is left
    alone."""
    from strategy.pdf.render import render_strategy_pdf

    with transaction.atomic(), scope(agency=agency_id):
        strategy = _locked(strategy_id, agency_id, conversation=True)
        if strategy is None or strategy.status == Strategy.Status.FAILED:
            return
        if strategy.status == Strategy.Status.READY:
            ready = True
        else:
            ready = False
            lead = strategy.lead
            if lead.status != Lead.Status.QUALIFIED or not lead.consent_granted:
                strategy.status, strategy.error = Strategy.Status.FAILED, "lead no longer qualified"
                strategy.updated = timezone.now()
                strategy.save(update_fields=["status", "error", "updated"])
                return
            strategy.attempts += 1
            strategy.generation_started_at = timezone.now()
            strategy.updated = strategy.generation_started_at
            announce = strategy.status != Strategy.Status.GENERATING
            strategy.status = Strategy.Status.GENERATING
            strategy.save(update_fields=["attempts", "generation_started_at", "status", "updated"])
            if announce:
                _announce(strategy)
            answers = dict(lead.answers or {})
    if ready:
        strategy_deliver(strategy_id=strategy_id, agency_id=agency_id)
        return

    knowledge = _retrieve(agency_id=agency_id, answers=answers)
    content, meta = _write(agency=strategy.agency, answers=answers, knowledge=knowledge)
    lead_data, agency_data = _pdf_inputs(strategy)
    generated_at = timezone.now()
    pdf = render_strategy_pdf(strategy=content, lead=lead_data, agency=agency_data, generated_at=generated_at)
    # Stored before the commit that points at it; a crash in between leaves a
    # file the redelivered task overwrites under the same name.
    name = storage.pdf_store(name=storage.strategy_pdf_name(agency_id=agency_id, strategy_id=strategy_id), data=pdf)

    with transaction.atomic(), scope(agency=agency_id):
        strategy = _locked(strategy_id, agency_id, conversation=True)
        if strategy is None or strategy.status != Strategy.Status.GENERATING:
            return  # finished by a concurrent duplicate, or superseded meanwhile
        usage = meta.get("usage") or {}
        strategy.content = content
        strategy.summary = str(content.get("executive_summary") or "")[:2000]
        strategy.writer = meta.get("writer", "")
        strategy.template_version = str(meta.get("template_version", ""))
        strategy.qa_failures = meta.get("qa_failures") or []
        strategy.prompt_tokens = usage.get("prompt_tokens", 0)
        strategy.completion_tokens = usage.get("completion_tokens", 0)
        strategy.model = usage.get("model", "")[:64]
        strategy.pdf_name, strategy.pdf_bytes = name, len(pdf)
        strategy.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        strategy.status = Strategy.Status.READY
        strategy.ready_at = strategy.updated = timezone.now()
        strategy.error = ""
        strategy.save()
        _announce(strategy, pdf_url=strategy_pdf_link(strategy))
        from qualification.services import lead_event_append

        lead_event_append(lead_id=strategy.lead_id, agency_id=agency_id, type="strategy.ready",
                          data={"strategy": str(strategy.id), "writer": strategy.writer,
                                "answers_version": strategy.answers_version}, actor="system")
        transaction.on_commit(_ready_hooks(strategy))
    strategy_deliver(strategy_id=strategy_id, agency_id=agency_id)


def _ready_hooks(strategy: Strategy):
    strategy_id, lead_id, agency_id = str(strategy.id), str(strategy.lead_id), str(strategy.agency_id)
    pdf_url = strategy_pdf_link(strategy)

    def run() -> None:
        try:
            from integrations.services import crm_sync_request, webhook_emit
        except ImportError:  # CRM sync and webhooks are not installed in this build
            return
        webhook_emit(agency_id=agency_id, type="strategy.ready",
                     data={"strategy": strategy_id, "lead": lead_id, "pdf_url": pdf_url})
        crm_sync_request(lead_id=lead_id, agency_id=agency_id)

    return run


def strategy_fail(*, strategy_id, agency_id, error: str) -> None:
    """Mark a strategy failed after its task gave up, and tell the lead."""
    with transaction.atomic(), scope(agency=agency_id):
        strategy = _locked(strategy_id, agency_id, conversation=True)
        if strategy is None or strategy.status in (Strategy.Status.READY, Strategy.Status.FAILED):
            return
        strategy.status, strategy.error = Strategy.Status.FAILED, error[:2000]
        strategy.updated = timezone.now()
        strategy.save(update_fields=["status", "error", "updated"])
        _announce(strategy)


# --- Deliver ---------------------------------------------------------------------------


def _notice_recipients(agency) -> list[str]:
    configured = [e for e in agency.setting("notification_emails") or [] if isinstance(e, str) and "@" in e]
    if configured:
        return configured
    from tenancy.models import Membership

    return list(Membership.objects.filter(agency=agency, role__in=("owner", "admin"))
                .values_list("user__email", flat=True))


def strategy_deliver(*, strategy_id, agency_id) -> None:
    """Email a ready strategy to the lead (PDF attached) and notify the agency.

    Each email is sent while the strategy's row lock is held and stamped in
    that same transaction: a concurrent duplicate waits and then sees the
    stamp. A crash between the SMTP server's acceptance and the commit can
    still repeat one email; the stable Message-ID lets mail clients fold it."""
    with transaction.atomic(), scope(agency=agency_id):
        strategy = _locked(strategy_id, agency_id, conversation=False)
        if strategy is None or strategy.status != Strategy.Status.READY:
            return
        lead, agency = strategy.lead, strategy.agency
        if strategy.lead_emailed_at is None and lead.email and lead.status != Lead.Status.ERASED:
            with storage.pdf_open(strategy.pdf_name) as handle:
                pdf = handle.read()
            delivery.lead_strategy_email(strategy=strategy, lead=lead, agency=agency, pdf=pdf,
                                         pdf_url=strategy_pdf_link(strategy)).send()
            strategy.lead_emailed_at = timezone.now()
            strategy.save(update_fields=["lead_emailed_at"])
    with transaction.atomic(), scope(agency=agency_id):
        strategy = _locked(strategy_id, agency_id, conversation=False)
        if strategy is None or strategy.agency_notified_at is not None:
            return
        recipients = _notice_recipients(strategy.agency)
        if recipients:
            console_url = f"{public_base(strategy.lead.conversation.server_base)}/console/conversations/{strategy.lead.conversation_id}"
            delivery.agency_notice_email(strategy=strategy, lead=strategy.lead, agency=strategy.agency,
                                         recipients=recipients, console_url=console_url).send()
        strategy.agency_notified_at = timezone.now()
        strategy.save(update_fields=["agency_notified_at"])


# --- Erasure ---------------------------------------------------------------------------


def strategy_erase_for_lead(*, lead) -> None:
    """Remove a lead's strategies' personal content and their PDFs (RGPD).

    Precondition: inside the erasure's transaction and the agency's scope.
    The rows stay (status, writer, dates) as anonymous statistics; the files
    go once the erasure commits."""
    names = []
    for strategy in Strategy.objects.select_for_update().filter(lead=lead):
        names.append(strategy.pdf_name)
        strategy.content = None
        strategy.summary = ""
        strategy.pdf_name, strategy.pdf_bytes, strategy.pdf_sha256 = "", 0, ""
        strategy.updated = timezone.now()
        strategy.save(update_fields=["content", "summary", "pdf_name", "pdf_bytes", "pdf_sha256", "updated"])
    transaction.on_commit(lambda: [storage.pdf_delete(name) for name in names])


def strategy_reconcile(*, limit: int = 500) -> dict[str, int]:
    """Re-queue what the strategy pipeline left undone (see
    selectors.strategy_reconcile_candidates): a lead qualified while the
    broker was away gets its strategy requested, a strategy whose generation
    was never queued (or whose worker vanished) is queued again. Every step
    is idempotent, so finding work that is merely slow costs a duplicate
    message, never a second strategy or email. Returns the counts."""
    from django.conf import settings

    from strategy import tasks
    from strategy.selectors import strategy_reconcile_candidates

    now = timezone.now()
    found = strategy_reconcile_candidates(
        settled_before=now - timedelta(seconds=settings.STRATEGY_RECONCILE_AFTER_SECONDS),
        stalled_before=now - timedelta(seconds=settings.STRATEGY_STALLED_AFTER_SECONDS),
        limit=limit,
    )
    for lead_id, agency_id in found["missing"]:
        strategy_request(lead_id=lead_id, agency_id=agency_id)
    for strategy_id, agency_id in found["waiting"] + found["stalled"]:
        enqueue_now(tasks.strategy_generate, str(strategy_id), str(agency_id))
    counts = {kind: len(rows) for kind, rows in found.items()}
    if any(counts.values()):
        logger.warning("strategy_reconciled", extra=counts)
    return counts
