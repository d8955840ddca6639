"""Reads of conversations: access checks, replay, summaries."""

from __future__ import annotations

import functools
import uuid

from django.core.exceptions import ObjectDoesNotExist
from django_scopes import scope

from chat.models import Conversation, ConversationEvent, Note, Turn
from project.api.errors import NotFound
from project.db.prepared import PreparedSelect
from tenancy.actors import StaffActor, VisitorActor


def _uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound() from None


def access_conversation(actor: StaffActor | VisitorActor, conversation_id, *, lock: bool = False,
                        with_lead: bool = False, with_agency: bool = False,
                        only: tuple[str, ...] | None = None) -> Conversation:
    """The conversation if the actor may see it; NotFound otherwise (also for
    another agency's, or another visitor's). With lock=True the row is locked
    for the surrounding transaction. With with_lead=True its lead comes in the
    same query (and, with lock=True, under the same lock: InnoDB locks every
    joined row), so the message path does not read it again. `only` loads just
    those fields (a read that needs a few columns skips compiling and decrypting
    the other ~40 of the conversation and its lead). With with_agency=True the
    agency comes too (its own, unlocked statement: a join would lock the
    agency's row for every conversation of it), for a path that reads its
    settings anyway. The queries are compiled once (project.db.prepared)."""
    conversation_id = _uuid(conversation_id)
    if isinstance(actor, VisitorActor) and actor.conversation_id != conversation_id:
        raise NotFound()
    visitor = isinstance(actor, VisitorActor)
    values = {"agency_id": actor.agency_id, "conversation_id": conversation_id}
    if visitor:
        values["visitor_id"] = actor.visitor_id
    rows = _access_query(visitor=visitor, with_lead=with_lead, only=only, lock=lock).run(**values)
    if not rows:
        raise NotFound()
    conversation = rows[0]
    if with_agency:
        [agency] = _AGENCY_QUERY.run(agency_id=conversation.agency_id)
        Conversation.agency.field.set_cached_value(conversation, agency)
    # Only a lead read under the conversation's lock may stand in for _lock_lead.
    conversation.lead_locked = lock and with_lead
    return conversation


def _agency_query(*, agency_id):
    from tenancy.models import Agency

    return Agency.objects.filter(id=agency_id).order_by()[:1]


_AGENCY_QUERY = PreparedSelect(_agency_query, agency_id=Conversation._meta.get_field("agency").target_field)

# One compiled query per shape of access_conversation (a handful of call sites).
@functools.cache
def _access_query(*, visitor: bool, with_lead: bool, only: tuple[str, ...] | None, lock: bool) -> PreparedSelect:
    def build(*, agency_id, conversation_id, visitor_id=None):
        with scope(agency=agency_id):
            qs = Conversation.objects.filter(id=conversation_id)
            if visitor:
                qs = qs.filter(visitor_id=visitor_id)
            if with_lead:
                qs = qs.select_related("lead")
            if only is not None:
                qs = qs.only(*only)
            if lock:
                qs = qs.select_for_update()
            # At most one row (by primary key): no ORDER BY. first() would order by id,
            # and Django then builds a PositionRef and hashes every selected column.
            return qs.order_by()[:1]

    meta = Conversation._meta
    slots = {"agency_id": meta.get_field("agency"), "conversation_id": meta.pk}
    if visitor:
        slots["visitor_id"] = meta.get_field("visitor_id")
    return PreparedSelect(build, **slots)


def conversation_lead_cached(conversation: Conversation):
    """The lead already loaded with the conversation (select_related), else None."""
    if Conversation.lead.is_cached(conversation):
        try:
            return conversation.lead
        except ObjectDoesNotExist:
            return None
    return None


# Versions are never renumbered: their number is cached per process by id.
_FLOW_NUMBERS: dict = {}


def _flow_version_number(conversation: Conversation) -> int | None:
    version_id = conversation.flow_version_id
    if version_id is None:
        return None
    number = _FLOW_NUMBERS.get(version_id)
    if number is None:
        number = conversation.flow_version.number
        if len(_FLOW_NUMBERS) > 4096:
            _FLOW_NUMBERS.clear()
        _FLOW_NUMBERS[version_id] = number
    return number


def conversation_replay(*, agency_id, conversation_id, after_seq: int, include_staff_only: bool) -> list[dict]:
    """Persisted frames with seq > after_seq, in order: the replay of §3.1/§4."""
    with scope(agency=agency_id):
        qs = ConversationEvent.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        if not include_staff_only:
            qs = qs.filter(staff_only=False)
        return [payload for payload in qs.order_by("seq").values_list("payload", flat=True)]


def conversation_summary(conversation: Conversation, *, lead=None, owner_name: str | None = None) -> dict:
    """The `conversation` object of `conversation.updated` and of the REST list."""
    if lead is None:
        lead = getattr(conversation, "_prefetched_lead", None)
    lead_name = getattr(lead, "name", "") if lead is not None else ""
    return {
        "id": str(conversation.id),
        "status": conversation.status,
        "step": conversation.step,
        "progress": round(conversation.progress, 4),
        "score": getattr(lead, "score", None) if lead is not None else None,
        "lead_id": str(lead.id) if lead is not None else None,
        "lead_name": lead_name or None,
        "last_message": (
            {"role": conversation.last_message_role, "text": conversation.last_message_preview,
             "at": conversation.last_message_at.isoformat() if conversation.last_message_at else None}
            if conversation.last_message_at else None
        ),
        "owner": {"kind": conversation.owner_kind, **({"name": owner_name} if owner_name else {})},
        "crm": _crm_brief(lead),
        "flow_version": _flow_version_number(conversation),
        "updated_at": conversation.updated.isoformat(),
        "created": conversation.created.isoformat(),
    }


def _crm_brief(lead) -> dict | None:
    try:
        from integrations.selectors import crm_brief
    except ImportError:  # the CRM sync is not installed in this build
        return None
    return crm_brief(lead)


def conversation_turns(*, agency_id, conversation_id) -> list[Turn]:
    with scope(agency=agency_id):
        return list(Turn.objects.filter(conversation_id=conversation_id).order_by("seq"))


def conversation_notes(*, agency_id, conversation_id) -> list[Note]:
    with scope(agency=agency_id):
        return list(Note.objects.filter(conversation_id=conversation_id).select_related("author").order_by("created"))


def stored_message_frame(*, agency_id, conversation_id, client_id) -> dict | None:
    """The `message` frame of the lead message stored under `client_id`, or None."""
    return _stored_turn_frame(agency_id, conversation_id, client_id=client_id)


def stored_turn_frame(*, agency_id, conversation_id, turn_id) -> dict | None:
    """The persisted frame of a stored reply (its `turn.completed`), or None."""
    return _stored_turn_frame(agency_id, conversation_id, id=turn_id)


def _stored_turn_frame(agency_id, conversation_id, **turn) -> dict | None:
    with scope(agency=agency_id):
        stored = Turn.objects.filter(conversation_id=conversation_id, **turn).only("seq").first()
        if stored is None:
            return None
        return ConversationEvent.objects.filter(conversation_id=conversation_id, seq=stored.seq).values_list(
            "payload", flat=True
        ).first()


def conversation_preview_ids(*, agency_id, limit: int = 10_000) -> list:
    """The agency's preview conversations (staff trying the chat: the flow
    editor's drafts, onboarding's test chat). A handful, since retention deletes
    them after a day, so reads that leave them out can name their ids instead of
    joining or sub-querying the conversation of every row (bench/bench_rest.py)."""
    with scope(agency=agency_id):
        return list(Conversation.objects.filter(is_preview=True).values_list("id", flat=True)[:limit])


def conversations_list(actor: StaffActor, *, status: str | None = None, step: str | None = None,
                       created_from=None, created_to=None, q: str | None = None):
    """The agency's conversations, newest activity first, filtered. `q`
    matches every word in any turn, through the blind FULLTEXT index."""
    from django.db import connection

    from project.search import query_tokens

    with scope(agency=actor.agency_id):
        # Previews (a staff member trying a flow) are no leads' conversations.
        qs = Conversation.objects.select_related("flow_version", "lead", "lead__crm_sync").filter(is_preview=False)
        if status:
            qs = qs.filter(status=status)
        if step:
            qs = qs.filter(step=step)
        if created_from:
            qs = qs.filter(created__gte=created_from)
        if created_to:
            qs = qs.filter(created__lt=created_to)
        if q:
            tokens = query_tokens(q)
            if not tokens:
                return qs.none()
            turns = Turn.objects.filter(agency_id=actor.agency_id)
            if connection.vendor == "mysql":
                turns = turns.extra(
                    where=["MATCH(search_tokens) AGAINST (%s IN BOOLEAN MODE)"],
                    params=[" ".join("+" + t for t in tokens)],
                )
            else:
                for token in tokens:
                    turns = turns.filter(search_tokens__contains=token)
            qs = qs.filter(id__in=turns.values("conversation_id"))
        return qs
