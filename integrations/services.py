"""Writes of the Clientify sync and the outbound webhooks (issue 8, CONTRACT §6, §7).

Exactly one contact per lead: a lead's sync runs under the row lock of its
`CrmSync` row, looks the contact up by the stored id, then by e-mail, and only
then creates it, so two concurrent syncs, or a retry after a create that timed
out but landed, converge on the same contact. Progress (contact id, note, deal)
is stored even when a later step fails, so a retry only does what is left.

Calls to Clientify never happen inside the caller's transaction: the public
entry points (`crm_sync_request`, `crm_erase_request`, `webhook_emit`) only
write rows and enqueue tasks on commit. The per-agency circuit breaker lives on
the `ClientifyConnection` row and is only ever updated in short autocommit
statements, never while a lead's lock is held.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from integrations.clientify import (
    ClientifyAuthError,
    ClientifyClient,
    ClientifyError,
    ClientifyNotFound,
    ClientifyPermanentError,
    ClientifyTransientError,
    InvalidMapping,
    LeadSnapshot,
    build_contact_payload,
    build_deal,
    build_note,
    parse_mapping,
)
from integrations.models import (
    ClientifyConnection,
    CrmSync,
    CrmTombstone,
    WebhookDelivery,
    WebhookEndpoint,
    new_webhook_secret,
)
from integrations.retry import backoff_delay
from integrations.webhooks.signing import SIGNATURE_HEADER, sign
from project.api.errors import ApplicationError, Forbidden, NotFound
from project.celery import enqueue_on_commit
from qualification.services import lead_event_append

log = structlog.get_logger(__name__)

EVENT_TYPES = ("lead.qualified", "strategy.ready", "lead.erased", "crm.sync_failed")

# How long a half-open breaker's single probe may take before another caller may probe.
_PROBE_LEASE_SECONDS = 60
# Rotated webhook secrets keep signing this long, so receivers can switch without losing deliveries.
_PREVIOUS_SECRET_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one sync run did. ``retry_in`` (seconds) is set when the task must run again."""

    status: str  # synced | pending | failed | erased | skipped | not_connected | breaker_open | dead
    retry_in: float | None = None
    contact_id: int | None = None
    error: str = ""
    changed: bool = False  # the lead's sync status changed (live consoles are told)


# --- Public interface called by the rest of the code ------------------------------------------


def crm_sync_request(*, lead_id, agency_id) -> None:
    """Queue a sync of the lead to the agency's Clientify (after qualification, an edit, a strategy).

    Safe inside any transaction: nothing is locked, the task is enqueued on
    commit. A request is new information, so it also revives a dead-lettered sync.
    """
    from integrations.tasks import crm_sync

    enqueue_on_commit(crm_sync, lead_id=str(lead_id), agency_id=str(agency_id), reset=True)


def crm_erase_request(*, lead_id, agency_id) -> None:
    """The lead was erased: tombstone it now, delete its Clientify contact from a task after commit.

    The tombstone is written in the caller's transaction (or at once), so no
    sync that starts afterwards can recreate the contact; a sync already
    holding the lead's lock finishes first and the erase task, waiting on the
    same lock, then deletes what it created.
    """
    from integrations.tasks import crm_erase

    lead_id = _uuid(lead_id)
    with transaction.atomic(), scope(agency=agency_id):
        if not CrmTombstone.objects.filter(lead_id=lead_id).exists():
            try:
                with transaction.atomic():
                    CrmTombstone.objects.create(agency_id=agency_id, lead_id=lead_id)
            except IntegrityError:
                pass  # erased twice at the same moment: one tombstone is enough
        enqueue_on_commit(crm_erase, lead_id=str(lead_id), agency_id=str(agency_id))


def webhook_emit(*, agency_id, type: str, data: dict) -> None:
    """Announce an event to every active endpoint of the agency subscribed to ``type``.

    Safe inside a transaction: the deliveries are rows of that transaction and
    are sent by tasks enqueued on commit, so a rolled-back change announces nothing.
    """
    from integrations.tasks import webhook_deliver

    if type not in EVENT_TYPES:
        # A caller's typo must not break the write it announces; CONTRACT §7 lists the types.
        log.warning("webhook_unknown_event_type", type=type)
        return
    with transaction.atomic(), scope(agency=agency_id):
        endpoints = [e for e in WebhookEndpoint.objects.filter(active=True).order_by("created") if e.wants(type)]
        if not endpoints:
            return
        now = timezone.now()
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": type, "created": now.isoformat(), "agency": str(agency_id),
                   "data": data}
        for endpoint in endpoints:
            delivery = WebhookDelivery.objects.create(
                agency_id=agency_id, endpoint=endpoint, event_id=event_id, type=type, payload=payload,
                window_started_at=now, created=now,
            )
            enqueue_on_commit(webhook_deliver, delivery_id=str(delivery.id), agency_id=str(agency_id))


# --- The Clientify connection ---------------------------------------------------------------


def clientify_client(connection: ClientifyConnection, *, api_token: str | None = None) -> ClientifyClient:
    """The HTTP client for an agency's account (API root from CLIENTIFY_BASE_URL)."""
    return ClientifyClient(settings.CLIENTIFY_BASE_URL, api_token or connection.api_token,
                           timeout=tuple(settings.CRM_HTTP_TIMEOUT))


def clientify_connection_save(*, actor, api_token: str | None, enabled: bool,
                              field_mapping: dict | None = None) -> ClientifyConnection:
    """Connect (or reconfigure) the agency's Clientify account.

    Precondition: ``actor`` is admin+. A new token is checked against Clientify
    before it is stored (a rejected one is a validation error, an unreachable
    Clientify a 502); omitting it keeps the stored one. Turning the sync on
    queues every qualified lead that is not synced yet.
    """
    from tenancy.audit import audit_record

    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede conectar Clientify.")
    if field_mapping is not None:
        try:
            parse_mapping(field_mapping)
        except InvalidMapping as exc:
            raise ApplicationError("La correspondencia de campos no es válida.", code="validation_error",
                                   fields={f"field_mapping.{k}": [v] for k, v in exc.errors.items()}) from None
    token = (api_token or "").strip() or None
    with scope(agency=actor.agency_id):
        existing = ClientifyConnection.objects.filter(agency_id=actor.agency_id).first()
    if token is None and (existing is None or not existing.api_token):
        raise ApplicationError("Falta el token de la API de Clientify.", code="validation_error",
                               fields={"api_token": ["Este campo es obligatorio."]})
    account = None
    if token is not None:
        # Checked before any transaction: an HTTP call must not hold a row lock.
        try:
            with ClientifyClient(settings.CLIENTIFY_BASE_URL, token, timeout=tuple(settings.CRM_HTTP_TIMEOUT)) as client:
                account = client.validate_token()
        except ClientifyPermanentError:
            raise ApplicationError("Clientify ha rechazado el token.", code="validation_error",
                                   fields={"api_token": ["Clientify ha rechazado este token."]}) from None
        except ClientifyError as exc:
            raise ApplicationError("No se ha podido contactar con Clientify; inténtalo de nuevo.",
                                   code="clientify_unavailable", status=502) from exc
    with transaction.atomic(), scope(agency=actor.agency_id):
        connection = ClientifyConnection.objects.select_for_update().filter(agency_id=actor.agency_id).first()
        if connection is None:
            connection = ClientifyConnection(agency_id=actor.agency_id)
        was_enabled = connection.enabled and connection.pk is not None
        now = timezone.now()
        if token is not None:
            connection.api_token = token
            connection.token_last4 = token[-4:]
            connection.account = {"id": account.id, "email": account.email, "name": account.name,
                                  "company": account.company}
            # A new account starts healthy: the old token's failures say nothing about it.
            connection.consecutive_failures = 0
            connection.last_error = ""
            connection.breaker_state = ClientifyConnection.Breaker.CLOSED
            connection.breaker_opened_at = connection.breaker_probe_until = None
        connection.enabled = enabled
        if field_mapping is not None:
            connection.field_mapping = field_mapping
        connection.updated = now
        connection.save()
        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="integration.clientify.save",
                     target=str(connection.id), data={"enabled": enabled, "token_changed": token is not None})
        if enabled and (not was_enabled or token is not None):
            _queue_unsynced(actor.agency_id)
    return connection


def clientify_connection_test(*, actor, api_token: str | None = None) -> dict:
    """Ask Clientify whether a token works, storing nothing.

    Precondition: ``actor`` is admin+. Tests ``api_token`` when given (before
    saving it), else the stored one; with neither it is a validation error.
    Returns ``{"ok": True, "account"}`` or ``{"ok": False, "code", "message",
    "status"}`` (``token_rejected`` or ``clientify_unavailable``): a failed
    test is an answer about Clientify, not an error of this request. The
    breaker and the health columns are left alone: they describe the sync.
    """
    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede probar la conexión con Clientify.")
    token = (api_token or "").strip() or None
    if token is None:
        with scope(agency=actor.agency_id):
            connection = ClientifyConnection.objects.filter(agency_id=actor.agency_id).first()
        token = connection.api_token if connection is not None and connection.api_token else None
    if token is None:
        raise ApplicationError("No hay ningún token de Clientify que probar.", code="validation_error",
                               fields={"api_token": ["Este campo es obligatorio."]})
    try:
        with ClientifyClient(settings.CLIENTIFY_BASE_URL, token, timeout=tuple(settings.CRM_HTTP_TIMEOUT)) as client:
            account = client.validate_token()
    except ClientifyPermanentError as exc:
        return {"ok": False, "code": "token_rejected", "status": exc.status,
                "message": f"Clientify ha rechazado el token: {exc.detail}"[:500]}
    except ClientifyError as exc:
        return {"ok": False, "code": "clientify_unavailable", "status": exc.status,
                "message": f"No se ha podido contactar con Clientify: {exc.detail}"[:500]}
    return {"ok": True, "account": {"id": account.id, "email": account.email, "name": account.name,
                                    "company": account.company}}


def _queue_unsynced(agency_id) -> None:
    from integrations.tasks import crm_sync
    from qualification.models import Lead

    synced = CrmSync.objects.filter(status=CrmSync.Status.SYNCED).values("lead_id")
    for lead_id in Lead.objects.filter(status=Lead.Status.QUALIFIED).exclude(id__in=synced) \
            .values_list("id", flat=True)[:5000]:
        enqueue_on_commit(crm_sync, lead_id=str(lead_id), agency_id=str(agency_id), reset=True)


# --- The per-agency circuit breaker -----------------------------------------------------------


def _breaker_admit(connection_id) -> tuple[bool, bool, float]:
    """(admitted, is_probe, seconds to wait). Closed: everyone passes. Open: nobody until
    the cool-down is over, then exactly one caller (the probe) at a time."""
    Breaker = ClientifyConnection.Breaker
    now = timezone.now()
    cooldown = timedelta(seconds=settings.CRM_BREAKER_COOLDOWN_SECONDS)
    row = ClientifyConnection.objects.filter(id=connection_id).values(
        "breaker_state", "breaker_opened_at", "breaker_probe_until").first()
    if row is None or row["breaker_state"] == Breaker.CLOSED:
        return True, False, 0.0
    won = ClientifyConnection.objects.filter(id=connection_id).filter(
        Q(breaker_state=Breaker.OPEN, breaker_opened_at__lte=now - cooldown)
        | Q(breaker_state=Breaker.HALF_OPEN) & (Q(breaker_probe_until__isnull=True) | Q(breaker_probe_until__lt=now))
    ).update(breaker_state=Breaker.HALF_OPEN, breaker_probe_until=now + timedelta(seconds=_PROBE_LEASE_SECONDS))
    if won:
        return True, True, 0.0
    if row["breaker_state"] == Breaker.OPEN and row["breaker_opened_at"] is not None:
        wait = (row["breaker_opened_at"] + cooldown - now).total_seconds()
    else:
        wait = settings.CRM_BREAKER_COOLDOWN_SECONDS / 4
    return False, False, max(wait, 0.05)


def _breaker_record(connection_id, *, ok: bool | None, probe: bool, error: str = "") -> None:
    """Account one call's verdict: ``ok`` True (Clientify answered), False (outage-like
    failure), None (no verdict on availability, e.g. skipped or a validation error)."""
    Breaker = ClientifyConnection.Breaker
    now = timezone.now()
    rows = ClientifyConnection.objects.filter(id=connection_id)
    if ok is True:
        rows.update(last_success_at=now, consecutive_failures=0, breaker_state=Breaker.CLOSED,
                    breaker_opened_at=None, breaker_probe_until=None, last_error="")
        return
    if ok is None:
        if probe:
            rows.filter(breaker_state=Breaker.HALF_OPEN).update(breaker_probe_until=None)
        return
    rows.update(consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now, last_error=error[:500])
    if probe:
        rows.update(breaker_state=Breaker.OPEN, breaker_opened_at=now, breaker_probe_until=None)
    else:
        rows.filter(breaker_state=Breaker.CLOSED,
                    consecutive_failures__gte=settings.CRM_BREAKER_THRESHOLD).update(
            breaker_state=Breaker.OPEN, breaker_opened_at=now)


# --- One lead's sync -------------------------------------------------------------------------


def crm_sync_run(*, lead_id, agency_id, reset: bool = False) -> SyncOutcome:
    """Bring the lead's Clientify contact up to date (the body of the `crm_sync` task).

    Idempotent and safe to run concurrently for the same lead. ``reset`` (a
    fresh request rather than a retry) starts a new series of attempts and
    revives a dead-lettered sync. Must not be called inside a transaction.
    """
    from qualification.models import Lead

    lead_id = _uuid(lead_id)
    with scope(agency=agency_id):
        if CrmTombstone.objects.filter(lead_id=lead_id).exists():
            return SyncOutcome("erased")
        lead = Lead.objects.filter(id=lead_id).first()
        if lead is None:
            return SyncOutcome("skipped")
        connection = ClientifyConnection.objects.filter(enabled=True).first()
        if connection is None or not connection.api_token:
            # Nothing to record: connecting Clientify queues every qualified lead not synced yet.
            return SyncOutcome("not_connected")
        state = _ensure_state(lead)
        if state.dead_lettered and not reset:
            return SyncOutcome("dead")
        admitted, probe, wait = _breaker_admit(connection.id)
        if not admitted:
            # Refused by our own breaker: no call was made, so it is not an attempt (and
            # nothing is written: the row may be locked by a sync waiting on a slow Clientify).
            return SyncOutcome("breaker_open", retry_in=wait)
        verdict: bool | None = None
        error = ""
        try:
            with transaction.atomic():
                outcome, verdict, error = _sync_locked(lead_id, agency_id, connection, reset=reset)
        finally:
            _breaker_record(connection.id, ok=verdict, probe=probe, error=error)
    if outcome.changed:
        _announce_status(lead_id=lead_id, agency_id=agency_id)
    return outcome


def _announce_status(*, lead_id, agency_id) -> None:
    """Tell live consoles the lead's new `crm` status (`conversation.updated`), after commit.

    Best effort: the sync is done and stored; a console that misses this sees
    the status on its next update or reload."""
    from chat.hub import publish_from_sync
    from chat.services import Effects, _summary
    from qualification.models import Lead

    try:
        with scope(agency=agency_id):
            lead = Lead.objects.select_related("conversation", "crm_sync").get(id=lead_id)
            summary = _summary(lead.conversation, lead=lead)
        publish_from_sync(Effects(lead.conversation_id, lead.agency_id, summary=summary))
    except Exception as exc:  # noqa: BLE001 - a notification must never undo or fail a sync
        log.warning("crm_status_announce_failed", lead=str(lead_id), error=repr(exc))


def _ensure_state(lead) -> CrmSync:
    """The lead's sync row, created in its own short transaction so that concurrent
    first syncs do not deadlock on inserting it while holding other locks."""
    state = CrmSync.objects.filter(lead_id=lead.id).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            return CrmSync.objects.create(agency_id=lead.agency_id, lead_id=lead.id)
    except IntegrityError:
        return CrmSync.objects.get(lead_id=lead.id)


def _sync_locked(lead_id, agency_id, connection, *, reset: bool) -> tuple[SyncOutcome, bool | None, str]:
    """The sync proper, inside a transaction holding the lead's `CrmSync` row lock.

    Returns (outcome, breaker verdict, error text)."""
    from qualification.models import Lead

    state = CrmSync.objects.select_for_update().get(lead_id=lead_id)
    before = state.status
    if state.status == CrmSync.Status.ERASED or CrmTombstone.objects.filter(lead_id=lead_id).exists():
        return SyncOutcome("erased"), None, ""
    if reset:
        state.attempts = 0
        state.dead_lettered_at = None
        state.requested_at = timezone.now()
    elif state.dead_lettered:
        return SyncOutcome("dead"), None, ""
    # Read under the lock: a sync queued by an edit must send the edited answers.
    lead = Lead.objects.get(id=lead_id)
    if lead.status != Lead.Status.QUALIFIED:
        # Reopened for an edit (it is queued again when re-qualified) or being erased.
        state.save()
        return SyncOutcome("skipped"), None, ""
    snapshot = _snapshot(lead)
    mapping = connection.field_mapping or None
    first_sync = state.first_synced_at is None
    now = timezone.now()
    try:
        with clientify_client(connection) as client:
            _push(client, state, snapshot, mapping)
    except ClientifyPermanentError as exc:
        state.attempts += 1
        _fail(state, exc, now=now)
        if isinstance(exc, ClientifyAuthError):
            ClientifyConnection.objects.filter(id=connection.id).update(
                last_error="Clientify ha rechazado el token: vuelve a conectar la cuenta.", last_failure_at=now)
        return SyncOutcome("failed", contact_id=state.contact_id, error=state.last_error,
                           changed=before != state.status), None, ""
    except ClientifyTransientError as exc:
        state.attempts += 1
        if state.attempts >= settings.CRM_SYNC_MAX_ATTEMPTS:
            _fail(state, exc, now=now)
            return SyncOutcome("failed", contact_id=state.contact_id, error=state.last_error,
                               changed=before != state.status), False, str(exc)
        delay = backoff_delay(state.attempts, base=settings.CRM_RETRY_BASE_SECONDS,
                              cap=settings.CRM_RETRY_CAP_SECONDS, retry_after=exc.retry_after)
        state.status = CrmSync.Status.PENDING
        state.last_error, state.last_error_status = str(exc)[:500], exc.status
        state.next_attempt_at = now + timedelta(seconds=delay)
        state.updated = now
        state.save()
        return SyncOutcome("pending", retry_in=delay, contact_id=state.contact_id,
                           error=state.last_error, changed=before != state.status), False, str(exc)
    state.status = CrmSync.Status.SYNCED
    state.last_error, state.last_error_status = "", None
    state.next_attempt_at = None
    state.last_synced_at = now
    state.first_synced_at = state.first_synced_at or now
    state.updated = now
    state.save()
    if first_sync:
        # Lock order CrmSync → Lead; nothing locks them the other way round.
        lead_event_append(lead_id=lead_id, agency_id=state.agency_id, type="crm.synced",
                          data={"contact": state.contact_id}, actor="system:crm")
    return SyncOutcome("synced", contact_id=state.contact_id, changed=before != state.status), True, ""


def _push(client: ClientifyClient, state: CrmSync, lead: LeadSnapshot, mapping: dict | None) -> None:
    """Stored id → else the contact with this e-mail → else create; then note and deal.

    Mutates ``state`` as each step lands, so the caller stores the progress even
    when a later step raises."""
    payload = build_contact_payload(lead, mapping=mapping)
    contact = None
    if state.contact_id:
        try:
            contact = client.update_contact(state.contact_id, payload)
        except ClientifyNotFound:
            # Deleted by hand in Clientify: find it again or recreate it.
            state.contact_id, state.contact_url, state.deal_id, state.note_digest = None, "", None, ""
            state.deal_requested_at = None
    if contact is None and lead.email:
        found = client.find_contact_by_email(lead.email)
        if found is not None:
            contact = client.update_contact(found.id, payload)
    if contact is None:
        # Remembered before the create: if its answer is lost, erasure can still find the contact.
        state.email_sent = lead.email
        contact = client.create_contact(payload)
    state.contact_id, state.contact_url, state.email_sent = contact.id, contact.url, lead.email
    name, comment = build_note(lead)
    digest = hashlib.sha256(comment.encode()).hexdigest()
    if digest != state.note_digest:
        client.add_note(contact.id, name=name, comment=comment)
        state.note_digest = digest
    if state.deal_id is None and lead.budget_monthly is not None:
        deal = client.find_deal_for_contact(contact.url) if state.deal_requested_at else None
        if deal is None:
            state.deal_requested_at = timezone.now()
            deal = client.create_deal(**build_deal(lead, contact_url=contact.url, mapping=mapping))
        state.deal_id = deal.id


def _fail(state: CrmSync, exc: ClientifyError, *, now) -> None:
    """Give up on this series: failed, dead-lettered, announced as `crm.sync_failed`."""
    state.status = CrmSync.Status.FAILED
    state.last_error, state.last_error_status = str(exc)[:500], exc.status
    state.dead_lettered_at = now
    state.next_attempt_at = None
    state.updated = now
    state.save()
    webhook_emit(agency_id=state.agency_id, type="crm.sync_failed", data={
        "lead": str(state.lead_id), "error": state.last_error, "status": exc.status,
        "permanent": isinstance(exc, ClientifyPermanentError), "attempts": state.attempts,
    })


def _snapshot(lead) -> LeadSnapshot:
    from qualification.scoring import score_band

    answers = dict(lead.answers or {})
    note = _strategy_note(agency_id=lead.agency_id, lead_id=lead.id) or {}
    return LeadSnapshot(
        lead_id=str(lead.id), name=lead.name or "", company=lead.company or "", email=lead.email or "",
        phone=lead.phone or "", website=str(answers.get("website") or ""), sector=lead.sector or "",
        answers=answers, score=lead.score or 0, score_band=score_band(lead.score),
        consent_granted=lead.consent_granted,
        strategy_summary=note.get("summary") or None, strategy_pdf_url=note.get("pdf_url") or None,
        budget_monthly=float(lead.budget_monthly) if lead.budget_monthly is not None else None,
    )


def _strategy_note(*, agency_id, lead_id) -> dict | None:
    try:
        from strategy.selectors import strategy_crm_note
    except ImportError:  # the strategy pipeline lands separately; the note then says it is not ready
        return None
    return strategy_crm_note(agency_id=agency_id, lead_id=lead_id)


def crm_resync(*, actor, lead_id) -> None:
    """Sync the lead again now, reviving a failed or dead-lettered sync.

    Precondition: ``actor`` is agent+ (the lead must be theirs to see)."""
    from qualification.models import Lead
    from qualification.selectors import access_lead

    if not actor.has_role("agent"):
        raise Forbidden("Solo un agente o más puede reenviar un lead a Clientify.")
    lead = access_lead(actor, lead_id)
    with scope(agency=actor.agency_id):
        if CrmTombstone.objects.filter(lead_id=lead.id).exists() or lead.status == Lead.Status.ERASED:
            raise ApplicationError("Este lead fue borrado: no se envía a Clientify.", code="lead_erased",
                                   status=409)
        if lead.status != Lead.Status.QUALIFIED:
            raise ApplicationError("Solo se envían a Clientify los leads cualificados.", code="not_qualified",
                                   status=409)
        if not ClientifyConnection.objects.filter(enabled=True).exists():
            raise ApplicationError("Clientify no está conectado.", code="not_connected", status=409)
    crm_sync_request(lead_id=lead.id, agency_id=actor.agency_id)


# --- Erasure upstream ------------------------------------------------------------------------


def crm_erase_run(*, lead_id, agency_id) -> float | None:
    """Delete an erased lead's Clientify contact (the body of the `crm_erase` task).

    Returns seconds until a retry when Clientify is unreachable. Idempotent: a
    contact already gone counts as deleted."""
    lead_id = _uuid(lead_id)
    with scope(agency=agency_id):
        tombstone = CrmTombstone.objects.filter(lead_id=lead_id).first()
        if tombstone is None or tombstone.deleted_upstream_at is not None:
            return None
        connection = ClientifyConnection.objects.filter(agency_id=agency_id).first()
        with transaction.atomic():
            # The lead's lock: a sync in flight finishes (and stores its contact id) first.
            state = CrmSync.objects.select_for_update().filter(lead_id=lead_id).first()
            contact_id = state.contact_id if state else tombstone.contact_id
            email = state.email_sent if state else ""
            if connection is not None and connection.api_token and (contact_id or email):
                try:
                    with clientify_client(connection) as client:
                        if contact_id:
                            client.delete_contact(contact_id)
                        if email:
                            # A create whose answer was lost left a contact we never learnt the id of.
                            stray = client.find_contact_by_email(email)
                            if stray is not None and stray.custom_fields.get("markezy_lead_id") in (None, str(lead_id)):
                                client.delete_contact(stray.id)
                except ClientifyTransientError as exc:
                    return backoff_delay(1, base=settings.CRM_RETRY_BASE_SECONDS * 6,
                                         cap=settings.CRM_RETRY_CAP_SECONDS, retry_after=exc.retry_after)
                except ClientifyPermanentError as exc:
                    log.warning("crm_erase_refused", lead=str(lead_id), error=str(exc))
                    ClientifyConnection.objects.filter(id=connection.id).update(
                        last_error=f"No se pudo borrar un contacto en Clientify: {exc}"[:500])
                    return None
            now = timezone.now()
            tombstone.contact_id = contact_id
            tombstone.deleted_upstream_at = now
            tombstone.save(update_fields=["contact_id", "deleted_upstream_at"])
            if state is not None:
                state.status = CrmSync.Status.ERASED
                state.email_sent = ""
                state.contact_id, state.contact_url, state.deal_id = None, "", None
                state.next_attempt_at = None
                state.updated = now
                state.save()
    return None


# --- Inbound hooks from Clientify ------------------------------------------------------------

_CONTACT_URL = re.compile(r"/contacts/(\d+)/?$")
_DEAL_WON = {"2", "won", "ganado", "ganada"}
_DEAL_LOST = {"3", "lost", "perdido", "perdida"}


def clientify_inbound_receive(*, secret: str, body) -> bool:
    """Reflect Clientify's `contact.saved` / `deal.saved` hooks on the lead's CRM status.

    The secret path identifies the agency (404 otherwise). Unknown events and
    objects that are not ours are acknowledged and ignored (returns False), so
    Clientify does not retry them forever."""
    if not isinstance(secret, str) or not 16 <= len(secret) <= 64:
        raise NotFound()
    with scopes_disabled():
        connection = ClientifyConnection.objects.filter(inbound_secret=secret).first()
    if connection is None:
        raise NotFound()
    if not isinstance(body, dict):
        return False
    event = (body.get("hook") or {}).get("event") if isinstance(body.get("hook"), dict) else None
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    with transaction.atomic(), scope(agency=connection.agency_id):
        if event == "contact.saved":
            contact_id = _int(data.get("id"))
            state = CrmSync.objects.select_for_update().filter(contact_id=contact_id).first() if contact_id else None
            if state is None or not isinstance(data.get("status"), str):
                return False
            state.contact_status = data["status"][:40]
            state.crm_updated_at = timezone.now()
            state.save(update_fields=["contact_status", "crm_updated_at"])
            return True
        if event == "deal.saved":
            deal_id = _int(data.get("id"))
            contact_id = _contact_ref(data.get("contact") or data.get("contact_id"))
            state = None
            if deal_id:
                state = CrmSync.objects.select_for_update().filter(deal_id=deal_id).first()
            if state is None and contact_id:
                state = CrmSync.objects.select_for_update().filter(contact_id=contact_id).first()
            if state is None:
                return False
            status = _deal_status(data)
            changed = status != state.deal_status
            state.deal_status = status
            state.deal_id = state.deal_id or deal_id
            state.crm_updated_at = timezone.now()
            state.save(update_fields=["deal_status", "deal_id", "crm_updated_at"])
            if changed and status in ("won", "lost"):
                lead_event_append(lead_id=state.lead_id, agency_id=state.agency_id, type=f"crm.deal_{status}",
                                  data={"deal": state.deal_id}, actor="system:crm")
            return True
    return False


def _contact_ref(value) -> int | None:
    """A contact id from a hyperlink (`.../contacts/12/`) or a bare id."""
    if isinstance(value, str) and (match := _CONTACT_URL.search(value.strip())):
        return int(match.group(1))
    return _int(value)


def _deal_status(data: dict) -> str:
    for key in ("status_desc", "status"):
        value = str(data.get(key) or "").strip().casefold()
        if value in _DEAL_WON:
            return "won"
        if value in _DEAL_LOST:
            return "lost"
    return "open"


# --- Outbound webhooks -----------------------------------------------------------------------


def _validate_endpoint(url: str | None, event_types: list | None) -> None:
    fields = {}
    if url is not None:
        parsed = httpx.URL(url) if url else None
        schemes = ("https",) if settings.PRODUCTION else ("https", "http")
        if parsed is None or parsed.scheme not in schemes or not parsed.host:
            fields["url"] = ["Debe ser una URL " + (" o ".join(schemes)) + " completa."]
    if event_types is not None:
        unknown = sorted(set(event_types) - set(EVENT_TYPES))
        if unknown:
            fields["event_types"] = [f"Eventos desconocidos: {', '.join(unknown)}."]
    if fields:
        raise ApplicationError(next(iter(fields.values()))[0], code="validation_error", fields=fields)


def _require_admin(actor) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede gestionar los webhooks.")


def webhook_endpoint_create(*, actor, url: str, event_types: list[str], description: str = "",
                            active: bool = True) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it with its secret, which is shown this once. Precondition: admin+."""
    _require_admin(actor)
    _validate_endpoint(url, event_types)
    secret = new_webhook_secret()
    with transaction.atomic(), scope(agency=actor.agency_id):
        endpoint = WebhookEndpoint.objects.create(agency_id=actor.agency_id, url=url, secret=secret,
                                                  event_types=sorted(set(event_types)), description=description,
                                                  active=active)
        _audit(actor, "webhook.create", endpoint)
    return endpoint, secret


def webhook_endpoint_update(*, actor, endpoint: WebhookEndpoint, url: str | None = None,
                            event_types: list[str] | None = None, description: str | None = None,
                            active: bool | None = None) -> WebhookEndpoint:
    """Change the given fields of an endpoint. Precondition: admin+, ``endpoint`` from `access_webhook_endpoint`."""
    _require_admin(actor)
    _validate_endpoint(url, event_types)
    with transaction.atomic(), scope(agency=actor.agency_id):
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint.id)
        if url is not None:
            endpoint.url = url
        if event_types is not None:
            endpoint.event_types = sorted(set(event_types))
        if description is not None:
            endpoint.description = description
        if active is not None:
            endpoint.active = active
        endpoint.updated = timezone.now()
        endpoint.save()
        _audit(actor, "webhook.update", endpoint)
    return endpoint


def webhook_endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> None:
    _require_admin(actor)
    with transaction.atomic(), scope(agency=actor.agency_id):
        _audit(actor, "webhook.delete", endpoint)
        WebhookEndpoint.objects.filter(id=endpoint.id).delete()


def webhook_endpoint_rotate_secret(*, actor, endpoint: WebhookEndpoint) -> str:
    """A new secret, returned this once; the old one keeps signing for 24 h alongside it."""
    _require_admin(actor)
    secret = new_webhook_secret()
    with transaction.atomic(), scope(agency=actor.agency_id):
        endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint.id)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires = timezone.now() + _PREVIOUS_SECRET_TTL
        endpoint.secret = secret
        endpoint.updated = timezone.now()
        endpoint.save()
        _audit(actor, "webhook.rotate_secret", endpoint)
    return secret


def webhook_delivery_replay(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (dead-lettered or not), with a fresh 24 h retry window."""
    from integrations.tasks import webhook_deliver

    _require_admin(actor)
    with transaction.atomic(), scope(agency=actor.agency_id):
        delivery = WebhookDelivery.objects.select_for_update().get(id=delivery.id)
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.dead_lettered_at = None
        delivery.window_started_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.save()
        _audit(actor, "webhook.replay", delivery.endpoint)
        enqueue_on_commit(webhook_deliver, delivery_id=str(delivery.id), agency_id=str(actor.agency_id))
    return delivery


def webhook_body(payload: dict) -> bytes:
    """The exact bytes sent and signed: compact, key-sorted JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliver_run(*, delivery_id, agency_id) -> float | None:
    """POST one delivery (the body of the `webhook_deliver` task); returns seconds until a retry.

    Non-2xx answers and timeouts are retried with backoff until the retry
    window (24 h) would be exceeded; then the delivery is dead-lettered."""
    delivery_id = _uuid(delivery_id)
    with scope(agency=agency_id), transaction.atomic():
        # Only the delivery row is locked (a join would lock the endpoint too, and MariaDB has no
        # FOR UPDATE OF): deliveries to one endpoint go out in parallel and editing it never waits.
        delivery = WebhookDelivery.objects.select_for_update().filter(id=delivery_id).first()
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return None
        endpoint = WebhookEndpoint.objects.get(id=delivery.endpoint_id)
        now = timezone.now()
        body = webhook_body(delivery.payload)
        timestamp = int(now.timestamp())
        signature = sign(body, endpoint.secret, timestamp=timestamp)
        if endpoint.previous_secret and endpoint.previous_secret_expires and endpoint.previous_secret_expires > now:
            signature += "," + sign(body, endpoint.previous_secret, timestamp=timestamp).split(",", 1)[1]
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature,
                   "Markezy-Event-Id": str(delivery.event_id), "User-Agent": "Markezy-Webhooks/1"}
        code, error = None, ""
        if not endpoint.active:
            error = "El endpoint está desactivado."
        else:
            try:
                response = httpx.post(endpoint.url, content=body, headers=headers,
                                      timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
                code = response.status_code
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_code = code
        delivery.last_error = error[:500]
        retry_in = None
        if not error:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        else:
            delay = backoff_delay(delivery.attempts, base=settings.WEBHOOK_RETRY_BASE_SECONDS,
                                  cap=settings.WEBHOOK_RETRY_CAP_SECONDS)
            window_end = delivery.window_started_at + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
            if not endpoint.active or now + timedelta(seconds=delay) > window_end:
                delivery.status = WebhookDelivery.Status.DEAD
                delivery.dead_lettered_at = now
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                retry_in = delay
        delivery.save()
    return retry_in


def _audit(actor, action: str, endpoint: WebhookEndpoint) -> None:
    from tenancy.audit import audit_record

    audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action=action, target=str(endpoint.id))


def _uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound() from None


def _int(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def integrations_reconcile(*, limit: int = 500) -> dict[str, int]:
    """Queue again the CRM syncs and webhook deliveries a lost enqueue left
    without a task (selectors.integrations_reconcile_candidates). The tasks
    are idempotent and safe to run concurrently, so one found while merely
    slow costs a duplicate message, never a second contact or delivery."""
    from integrations.selectors import integrations_reconcile_candidates
    from integrations.tasks import crm_sync, webhook_deliver
    from project.celery import enqueue_now

    found = integrations_reconcile_candidates(
        settled_before=timezone.now() - timedelta(seconds=settings.INTEGRATIONS_RECONCILE_AFTER_SECONDS), limit=limit)
    for lead_id, agency_id in found["unrequested"]:
        enqueue_now(crm_sync, lead_id=str(lead_id), agency_id=str(agency_id), reset=True)
    for lead_id, agency_id in found["syncs"]:
        enqueue_now(crm_sync, lead_id=str(lead_id), agency_id=str(agency_id))
    for delivery_id, agency_id in found["deliveries"]:
        enqueue_now(webhook_deliver, delivery_id=str(delivery_id), agency_id=str(agency_id))
    counts = {kind: len(rows) for kind, rows in found.items()}
    if any(counts.values()):
        log.warning("integrations_reconciled", **counts)
    return counts
