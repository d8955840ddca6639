"""Writes of the live chat: sessions, lead messages, completed turns, notes,
takeover. Every persisted frame gets its `seq` here, under the
conversation's row lock, and is stored in ConversationEvent in the same
transaction as the change it announces.

Services return what must be announced (`Effects`); the caller publishes it
after the transaction committed (Zulip's events-after-commit, STYLE.md §3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope

from chat import frames
from chat.models import Conversation, ConversationEvent, Note, Turn
from chat.selectors import (access_conversation, conversation_lead_cached, conversation_summary, stored_message_frame,
                            stored_turn_frame)
from chat.visitor import visitor_token_issue, visitor_token_verify
from project.api.errors import ApplicationError, Conflict, Forbidden, RateLimited
from project.db.prepared import PreparedSelect, cached_relations_drop, instance_update, instances_insert
from project.ratelimit import window_hit
from project.search import search_tokens
from chat.guard import looks_like_injection
from tenancy.actors import StaffActor, VisitorActor
from tenancy.origins import origin_allowed, origin_allowed_for_widget
from tenancy.selectors import agency_origin_patterns, widget_key_resolve


@dataclass(slots=True)
class ReplyPlan:
    """What the assistant should say next. The flow engine always computes
    `scripted` (the offline provider streams it); `messages` is the prompt for
    a real LLM, which only phrases it."""

    scripted: str
    messages: list[dict] = field(default_factory=list)


@dataclass(slots=True)
class Effects:
    """What a committed write announces: persisted frames in seq order (for
    the lead and staff), the live-list summary, and the assistant's next reply."""

    conversation_id: uuid.UUID
    agency_id: uuid.UUID
    frames: list[dict] = field(default_factory=list)
    summary: dict | None = None
    reply: ReplyPlan | None = None
    duplicate: bool = False


def frame_append(conversation: Conversation, *, type: str, build: Callable[[int], dict], staff_only: bool = False) -> dict:
    """Allocate the next seq and store the frame.

    Precondition: the caller holds `conversation`'s row lock (select_for_update
    inside transaction.atomic) and saves `last_seq` before committing —
    `conversation_touch` does both for the usual path."""
    conversation.last_seq += 1
    frame = build(conversation.last_seq)
    fields = {"agency_id": conversation.agency_id, "conversation": conversation, "seq": conversation.last_seq,
              "type": type, "staff_only": staff_only, "payload": frame}
    batch = getattr(conversation, "event_batch", None)
    if batch is not None:
        batch.append(ConversationEvent(**fields))
    else:
        instances_insert([ConversationEvent(**fields)])
    return frame


def frames_batch_begin(conversation: Conversation) -> None:
    """From now on frame_append collects this conversation's events and
    `conversation_touch` inserts them in one statement (the hot message path
    appends two or three). Precondition: the caller ends with conversation_touch
    in the same transaction."""
    conversation.event_batch = []


def _frames_batch_flush(conversation: Conversation) -> None:
    batch = getattr(conversation, "event_batch", None)
    if batch:
        instances_insert(batch)
    conversation.event_batch = None


def conversation_touch(conversation: Conversation, *, role: str | None = None, text: str | None = None) -> None:
    _frames_batch_flush(conversation)
    conversation.updated = timezone.now()
    fields = ["last_seq", "updated", "step", "progress", "status", "owner_kind", "owner_user", "consent_granted"]
    if role is not None and text is not None:
        conversation.last_message_role = role
        conversation.last_message_preview = text[:200]
        conversation.last_message_at = conversation.updated
        fields += ["last_message_role", "last_message_preview", "last_message_at"]
    # save(update_fields=...) on SQL compiled once: this runs for every message and reply.
    instance_update(conversation, fields)


def _summary(conversation: Conversation, lead=None) -> dict | None:
    """The live-list summary to announce; None for a preview, which is no
    lead and stays out of the staff's list."""
    from qualification.selectors import lead_for_conversation

    if conversation.is_preview:
        return None

    if lead is None:
        lead = conversation_lead_cached(conversation)
    if lead is None:
        lead = lead_for_conversation(conversation)
    owner_name = None
    if conversation.owner_kind == Conversation.Owner.STAFF and conversation.owner_user_id:
        from tenancy.models import User

        owner_name = User.objects.filter(id=conversation.owner_user_id).values_list("name", flat=True).first() or None
    return conversation_summary(conversation, lead=lead, owner_name=owner_name)


# --- Widget sessions ------------------------------------------------------------


@dataclass(slots=True)
class WidgetSession:
    conversation: Conversation
    visitor_token: str
    resumed: bool


def widget_session_open(
    *, key: str, origin: str | None, visitor_token: str | None, page_url: str, locale: str | None, ip: str,
    server_base: str = "", own_base: str = "",
) -> WidgetSession:
    """Open (or resume) a lead's conversation for a widget on an allowed site.

    Refuses (403, nothing created) an unknown or revoked key, a missing Origin
    and an origin the agency has not allowed; 429 past the per-IP session rate.
    `own_base` is this service's base URL: its origin (the console's widget
    preview) is allowed for every agency. A conversation opened from there is
    staff trying the chat, not a lead: it is a preview (`is_preview`: no CRM,
    webhook, strategy or analytics, not in the staff list) and keeps that
    origin, so it never counts as the widget being installed on a site.
    """
    widget_key = widget_key_resolve(key)
    if widget_key is None:
        raise Forbidden("Clave de widget no válida o revocada.", code="invalid_key")
    patterns = agency_origin_patterns(widget_key.agency_id)
    if not origin or not origin_allowed_for_widget(origin, patterns, base_url=own_base):
        raise Forbidden("Este sitio web no está autorizado para este widget.", code="origin_not_allowed")
    is_preview = not origin_allowed(origin, patterns)
    agency = widget_key.agency

    visitor = visitor_token_verify(visitor_token) if visitor_token else None
    if visitor is not None and visitor.agency_id == agency.id:
        with scope(agency=agency.id):
            # A preview resumes only in the console's preview, a lead's chat only on a site.
            conversation = Conversation.objects.filter(
                id=visitor.conversation_id, visitor_id=visitor.visitor_id, is_preview=is_preview
            ).exclude(status=Conversation.Status.CLOSED).first()
        if conversation is not None:
            from qualification.services import qualification_policy_refresh

            # A new privacy-policy version since the lead consented: ask again.
            renewal = qualification_policy_refresh(conversation_id=conversation.id, agency_id=agency.id)
            if renewal is not None:
                from chat.hub import publish_from_sync

                publish_from_sync(renewal)
                with scope(agency=agency.id):
                    conversation.refresh_from_db()
            token = visitor_token_issue(agency_id=agency.id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
            return WidgetSession(conversation=conversation, visitor_token=token, resumed=True)

    verdict = window_hit(f"sessions:ip:{ip}", limit=settings.WIDGET_SESSIONS_PER_IP_PER_HOUR, window_seconds=3600)
    if not verdict.allowed:
        raise RateLimited("Demasiadas sesiones desde esta conexión.", retry_after=verdict.retry_after)

    from qualification.services import flow_version_current

    with transaction.atomic(), scope(agency=agency.id):
        conversation = Conversation.objects.create(
            agency=agency,
            widget_key=widget_key,
            flow_version=flow_version_current(agency_id=agency.id),
            locale=(locale or agency.locale or "es")[:8],
            page_url=(page_url or "")[:500],
            origin=origin[:255],
            server_base=server_base[:255],
            is_preview=is_preview,
        )
        from qualification.services import lead_start

        lead_start(conversation=conversation)
    token = visitor_token_issue(agency_id=agency.id, conversation_id=conversation.id, visitor_id=conversation.visitor_id)
    return WidgetSession(conversation=conversation, visitor_token=token, resumed=False)


def preview_session_open(*, actor: StaffActor, flow_version, origin: str, server_base: str = "",
                         locale: str | None = None) -> WidgetSession:
    """A preview conversation of one flow version (draft or published) for
    a staff member trying it from the console.

    Precondition: `actor` is admin+ and `flow_version` was read through
    `access_flow_version(actor, …)`. The conversation is pinned to that
    version and marked `is_preview`; `origin` (this service's own, where the
    console runs) is the only origin its lead socket accepts, since the
    console is no allowed site of the agency. Its visitor token is the same
    kind a widget gets, bound to this conversation alone."""
    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede probar el flujo.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        conversation = Conversation.objects.create(
            agency_id=actor.agency_id,
            flow_version=flow_version,
            is_preview=True,
            locale=(locale or flow_version.definition.get("locale") or "es")[:8],
            origin=origin[:255],
            server_base=server_base[:255],
        )
        from qualification.services import lead_start

        lead_start(conversation=conversation)
    token = visitor_token_issue(agency_id=actor.agency_id, conversation_id=conversation.id,
                                visitor_id=conversation.visitor_id)
    with scope(agency=actor.agency_id):
        conversation = Conversation.objects.select_related("agency", "flow_version").get(id=conversation.id)
    return WidgetSession(conversation=conversation, visitor_token=token, resumed=False)


# --- Lead messages -----------------------------------------------------------------


class TooLong(ApplicationError):
    code = "too_long"


def lead_message_receive(*, visitor: VisitorActor, client_id: uuid.UUID, text: str, hints: dict | None = None,
                         with_history: bool = True) -> Effects:
    """Store a lead message once, whatever the number of resends.

    A `client_id` already stored answers the stored frame again (`duplicate`),
    also when two sockets of one visitor race: the conversation row lock
    serialises them and the unique constraint on (conversation, client_id)
    detects the resend, so the usual (new) message pays no lookup for it.
    `with_history=False` (the offline provider is answering) skips reading the
    recent turns into the reply's prompt.
    """
    text = (text or "").strip()
    if not text:
        raise ApplicationError("El mensaje está vacío.", code="bad_frame")
    if len(text) > settings.CHAT_MAX_TEXT_CHARS:
        raise TooLong(f"El mensaje supera {settings.CHAT_MAX_TEXT_CHARS} caracteres.")
    conversation = None
    try:
        with transaction.atomic(), scope(agency=visitor.agency_id):
            conversation = access_conversation(visitor, visitor.conversation_id, lock=True, with_lead=True,
                                              with_agency=True)
            if conversation.status == Conversation.Status.CLOSED:
                stored = stored_message_frame(
                    agency_id=visitor.agency_id, conversation_id=conversation.id, client_id=client_id
                )
                if stored is not None:
                    return Effects(conversation.id, conversation.agency_id, frames=[stored], duplicate=True)
                raise Conflict("La conversación está cerrada.", code="conversation_closed")
            turn_id = uuid.uuid4()
            frames_batch_begin(conversation)
            # The turn first: a resent client_id fails here, before anything else is written.
            turn = Turn(
                id=turn_id, agency_id=conversation.agency_id, conversation=conversation, seq=conversation.last_seq + 1,
                role=Turn.Role.LEAD, text=text, client_id=client_id, search_tokens=search_tokens(text),
                flagged=looks_like_injection(text),
            )
            instances_insert([turn])
            frame = frame_append(
                conversation,
                type="message",
                build=lambda seq: frames.message_frame(seq=seq, turn_id=turn_id, text=text, client_id=client_id),
            )
            effects = Effects(conversation.id, conversation.agency_id, frames=[frame])
            lead = None
            if conversation.owner_kind == Conversation.Owner.BOT:
                from qualification.services import qualification_on_lead_message

                outcome = qualification_on_lead_message(conversation=conversation, turn=turn, hints=hints,
                                                        with_history=with_history)
                effects.frames.extend(outcome.frames)
                effects.reply = outcome.reply
                lead = outcome.lead
            conversation_touch(conversation, role="lead", text=text)
            effects.summary = _summary(conversation, lead=lead)
            return effects
    except IntegrityError:
        # This client_id is stored (a resend, or another socket won the race): answer its frame.
        stored = stored_message_frame(agency_id=visitor.agency_id, conversation_id=visitor.conversation_id, client_id=client_id)
        if stored is None:
            raise
        return Effects(visitor.conversation_id, visitor.agency_id, frames=[stored], duplicate=True)
    finally:
        cached_relations_drop(conversation)


# --- Assistant and agent turns ----------------------------------------------------


@dataclass(slots=True)
class TurnRecord:
    turn_id: uuid.UUID
    role: str
    text: str
    stopped: bool = False
    failed: bool = False
    provider: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_ms: int | None = None
    duration_ms: int | None = None
    agent_user_id: uuid.UUID | None = None
    agent_name: str | None = None
    flagged: bool = False


_TURN_COMPLETE_FIELDS = (
    # conversation_touch's fields, and the summary's (conversation_summary, crm_brief)
    "agency", "status", "step", "progress", "owner_kind", "owner_user", "last_seq", "consent_granted",
    "is_preview", "last_message_role", "last_message_at", "flow_version", "created", "updated",
    "lead__id", "lead__agency", "lead__conversation", "lead__name", "lead__score", "lead__qualified_at",
)


def _turn_complete_query(*, agency_id, conversation_id):
    with scope(agency=agency_id):
        return (Conversation.objects.select_for_update().select_related("lead").only(*_TURN_COMPLETE_FIELDS)
                .filter(id=conversation_id).order_by()[:1])


# Compiled once (project.db.prepared): every finished reply reads this row.
_TURN_COMPLETE_QUERY = PreparedSelect(_turn_complete_query, agency_id=Conversation._meta.get_field("agency"),
                                      conversation_id=Conversation._meta.pk)


def turn_complete(*, agency_id: uuid.UUID, conversation_id: uuid.UUID, record: TurnRecord) -> Effects:
    """Store a finished reply (completed, stopped or failed): the one database
    write of a streamed turn. An empty stopped/failed turn stores nothing.

    Idempotent by `record.turn_id`: a retry after a commit whose answer was
    lost (the connection dropped) gets the stored frame again, nothing twice."""
    try:
        return _turn_store(agency_id=agency_id, conversation_id=conversation_id, record=record)
    except IntegrityError:
        stored = stored_turn_frame(agency_id=agency_id, conversation_id=conversation_id, turn_id=record.turn_id)
        if stored is None:
            raise
        return Effects(conversation_id, agency_id, frames=[stored])


def _turn_store(*, agency_id: uuid.UUID, conversation_id: uuid.UUID, record: TurnRecord) -> Effects:
    with transaction.atomic(), scope(agency=agency_id):
        # The lead comes along for the summary (locked with the row: harmless, it is this conversation's),
        # and of both rows only what the turn and the summary use: no decryption of the lead's answers,
        # email, phone or company, nor of the preview this turn replaces (6.4 → 4.0–5.3 ms of CPU per call).
        rows = _TURN_COMPLETE_QUERY.run(agency_id=agency_id, conversation_id=conversation_id)
        if not rows:
            raise Conversation.DoesNotExist(f"conversation {conversation_id} of agency {agency_id}")
        conversation = rows[0]
        try:
            return _turn_append(conversation, agency_id=agency_id, record=record)
        finally:
            cached_relations_drop(conversation)


def _turn_append(conversation: Conversation, *, agency_id: uuid.UUID, record: TurnRecord) -> Effects:
    # Precondition: `conversation` was read under its row lock in the caller's transaction.
    if not record.text and (record.stopped or record.failed):
        return Effects(conversation.id, agency_id)
    frame = frame_append(
        conversation,
        type="turn.completed",
        build=lambda seq: frames.turn_completed_frame(
            seq=seq, turn_id=record.turn_id, role=record.role, text=record.text,
            stopped=record.stopped, failed=record.failed, agent_name=record.agent_name,
        ),
    )
    instances_insert([Turn(
        id=record.turn_id, agency_id=agency_id, conversation=conversation, seq=frame["seq"], role=record.role,
        text=record.text, stopped=record.stopped, failed=record.failed, provider=record.provider,
        prompt_tokens=record.prompt_tokens, completion_tokens=record.completion_tokens,
        first_token_ms=record.first_token_ms, duration_ms=record.duration_ms, agent_user_id=record.agent_user_id,
        search_tokens=search_tokens(record.text), flagged=record.flagged,
    )])
    conversation_touch(conversation, role=record.role, text=record.text)
    return Effects(conversation.id, agency_id, frames=[frame], summary=_summary(conversation))


def conversation_claim_opening(*, visitor: VisitorActor) -> Effects | None:
    """The assistant's first words and the first `qualification` frame,
    exactly once per conversation: the first socket to claim them gets them,
    every other (or later) one gets None."""
    with transaction.atomic(), scope(agency=visitor.agency_id):
        conversation = access_conversation(visitor, visitor.conversation_id, lock=True)
        if conversation.last_seq > 0 or conversation.owner_kind != Conversation.Owner.BOT:
            return None
        from qualification.services import qualification_opening

        plan, frame = qualification_opening(conversation=conversation)
        conversation_touch(conversation)
        return Effects(conversation.id, conversation.agency_id, frames=[frame], reply=plan,
                       summary=_summary(conversation))


# --- Staff: notes and ownership -------------------------------------------------


def note_add(*, actor: StaffActor, conversation_id, text: str) -> Effects:
    """A private note: stored and shown to staff, never to the lead (its frame
    is staff_only, so the lead's replay and live stream skip it)."""
    if not actor.has_role("agent"):
        raise Forbidden("Tu rol no permite escribir notas.")
    text = (text or "").strip()
    if not text or len(text) > 5000:
        raise ApplicationError("La nota está vacía o es demasiado larga.", code="bad_frame")
    with transaction.atomic(), scope(agency=actor.agency_id):
        conversation = access_conversation(actor, conversation_id, lock=True)
        note = Note.objects.create(agency_id=actor.agency_id, conversation=conversation, author_id=actor.user_id, text=text)
        frame = frame_append(
            conversation,
            type="note",
            staff_only=True,
            build=lambda seq: {
                "seq": seq, "type": "note", "id": str(note.id), "text": text,
                "author": {"id": str(actor.user_id), "name": actor.name}, "created": note.created.isoformat(),
            },
        )
        conversation.save(update_fields=["last_seq"])
        return Effects(conversation.id, actor.agency_id, frames=[frame])


def conversation_takeover(*, actor: StaffActor, conversation_id) -> Effects:
    """Compare-and-set the owner from the bot to this staff member. Exactly one
    of several concurrent takeovers wins; the others get `already_owned`."""
    if not actor.has_role("agent"):
        raise Forbidden("Tu rol no permite tomar el control.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        conversation = access_conversation(actor, conversation_id, lock=True)
        if conversation.owner_kind == Conversation.Owner.STAFF:
            if conversation.owner_user_id == actor.user_id:
                return Effects(conversation.id, actor.agency_id, duplicate=True)
            raise Conflict("Otra persona del equipo ya atiende esta conversación.", code="already_owned")
        conversation.owner_kind = Conversation.Owner.STAFF
        conversation.owner_user_id = actor.user_id
        frame = frame_append(
            conversation, type="handoff",
            build=lambda seq: {"seq": seq, "type": "handoff", "active": True, "agent": {"name": actor.name}},
        )
        conversation_touch(conversation)
        from tenancy.audit import audit_record

        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="conversation.takeover",
                     target=str(conversation.id))
        return Effects(conversation.id, actor.agency_id, frames=[frame], summary=_summary(conversation))


def conversation_release(*, actor: StaffActor, conversation_id) -> Effects:
    """Hand back to the assistant, which continues the flow from the current
    step, taking into account what the lead said meanwhile."""
    if not actor.has_role("agent"):
        raise Forbidden("Tu rol no permite devolver la conversación.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        conversation = access_conversation(actor, conversation_id, lock=True)
        if conversation.owner_kind != Conversation.Owner.STAFF:
            return Effects(conversation.id, actor.agency_id, duplicate=True)
        if conversation.owner_user_id != actor.user_id and not actor.has_role("admin"):
            raise Conflict("Otra persona del equipo atiende esta conversación.", code="already_owned")
        conversation.owner_kind = Conversation.Owner.BOT
        conversation.owner_user_id = None
        frame = frame_append(
            conversation, type="handoff", build=lambda seq: {"seq": seq, "type": "handoff", "active": False},
        )
        from qualification.services import qualification_resume

        outcome = qualification_resume(conversation=conversation)
        conversation_touch(conversation)
        return Effects(conversation.id, actor.agency_id, frames=[frame, *outcome.frames],
                       summary=_summary(conversation), reply=outcome.reply)


def agent_turn_precheck(*, actor: StaffActor, conversation_id) -> Conversation:
    """An agent may reply only while they own the conversation."""
    if not actor.has_role("agent"):
        raise Forbidden("Tu rol no permite responder.")
    with scope(agency=actor.agency_id):
        conversation = access_conversation(actor, conversation_id)
    if conversation.owner_kind != Conversation.Owner.STAFF or conversation.owner_user_id != actor.user_id:
        raise Conflict("Toma el control de la conversación antes de responder.", code="not_owner")
    return conversation
