"""Writes of the qualification engine.

The flow (data) and the transition functions in `qualification.machine`
decide what is asked next; the LLM only phrases and understands. Every change
of a lead is an immutable LeadEvent folded by `projection.apply_event`, under
the conversation's row lock held by the chat service that calls in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone
from django_scopes import scope

from chat import frames as F
from chat.models import Conversation, Turn
from chat.services import Effects, ReplyPlan, conversation_touch, frame_append
from project.api.errors import ApplicationError
from project.celery import enqueue_on_commit
from project.crypto import blind_index
from project.db.prepared import instance_update, instances_insert
from qualification import machine, prompts
from qualification.flows import load_default_flow
from qualification.models import ConsentRecord, Erasure, Flow, FlowVersion, Lead, LeadEvent
from qualification.projection import LeadState, apply_event
from qualification.understanding import detect_correction, extract_fields, fold, parse_answer
from tenancy.actors import VisitorActor


@dataclass(slots=True)
class Outcome:
    frames: list[dict] = field(default_factory=list)
    reply: ReplyPlan | None = None
    lead: Lead | None = None


# --- Flows -----------------------------------------------------------------------


def flow_install_default(*, agency) -> FlowVersion:
    """Give a new agency the default Spanish flow of CONTRACT §6 as version 1."""
    with scope(agency=agency.id):
        flow = Flow.objects.create(agency=agency, name="Cualificación", is_default=True)
        return FlowVersion.objects.create(
            agency=agency, flow=flow, number=1, status=FlowVersion.Status.PUBLISHED,
            definition=load_default_flow(), published_at=timezone.now(),
        )


def flow_version_current(*, agency_id) -> FlowVersion | None:
    with scope(agency=agency_id):
        return (
            FlowVersion.objects.filter(flow__is_default=True, status=FlowVersion.Status.PUBLISHED)
            .order_by("-number")
            .first()
        )


# --- Lead state ------------------------------------------------------------------


class _LeadWriter:
    """Appends events to a locked lead and keeps its projection in step."""

    def __init__(self, lead: Lead):
        self.lead = lead
        self.state = LeadState(
            status=lead.status, step=lead.conversation.step if hasattr(lead, "conversation") else "",
            answers=dict(lead.answers or {}), answers_version=lead.answers_version,
            consent_granted=lead.consent_granted, consent_policy=lead.consent_policy,
            consent_at=lead.consent_at.isoformat() if lead.consent_at else None,
            score=lead.score, score_reasons=list(lead.score_reasons or []),
            qualified_at=lead.qualified_at.isoformat() if lead.qualified_at else None,
        )
        self.changed = False
        # Recorded events are inserted together by save(): one INSERT per message, not one per event.
        self.pending: list[LeadEvent] = []

    def record(self, type: str, data: dict, *, actor: str = "lead") -> None:
        now = timezone.now()
        self.lead.event_count += 1
        self.pending.append(LeadEvent(
            agency_id=self.lead.agency_id, lead=self.lead, seq=self.lead.event_count, type=type, data=data,
            step=str(data.get("to") or "")[:64] if type == "step.changed" else "", actor=actor, created=now,
        ))
        apply_event(self.state, type, data, now.isoformat())
        self.changed = True

    def flush(self) -> None:
        if self.pending:
            events, self.pending = self.pending, []
            instances_insert(events)

    def save(self) -> None:
        self.flush()
        lead_projection_write(lead=self.lead, state=self.state)


def lead_event_append(*, lead_id, agency_id, type: str, data: dict, actor: str = "system") -> None:
    """Append an event that other apps observe about a lead (`strategy.ready`,
    `crm.synced`, ...) to its log, so statistics come from the event log.

    Precondition: inside a transaction, in the agency's scope; if the caller
    also holds the conversation's lock it took it first (the chat's order)."""
    lead = Lead.objects.select_for_update().get(id=lead_id, agency_id=agency_id)
    writer = _LeadWriter(lead)
    writer.record(type, data, actor=actor)
    writer.flush()
    lead.save(update_fields=["event_count"])


def lead_projection_write(*, lead: Lead, state: LeadState) -> None:
    """Store a lead's state (a fold of its events) in its row.

    Precondition: the caller holds the lead's row lock."""
    answers = state.answers
    budget = answers.get("budget_monthly")
    email = str(answers.get("email") or "")
    values = {
        "status": state.status, "answers": answers, "answers_version": state.answers_version,
        "consent_granted": state.consent_granted, "consent_policy": state.consent_policy,
        "consent_at": _parse_dt(state.consent_at), "score": state.score, "score_reasons": state.score_reasons,
        "qualified_at": _parse_dt(state.qualified_at),
        # Denormalised, encrypted columns for lists and CRM sync.
        "name": str(answers.get("name") or ""), "email": email, "email_index": blind_index(email) or "",
        "phone": str(answers.get("phone") or ""), "company": str(answers.get("company") or ""),
        "sector": str(answers.get("sector") or "")[:40], "timeline": str(answers.get("timeline") or "")[:32],
        "budget_monthly": budget if isinstance(budget, (int, float)) else None,
    }
    # Only the columns that changed: a message usually answers one field, so
    # the name, email, phone and company are not re-encrypted (and the UPDATE
    # not rebuilt with every column) on each one. A deferred column is written,
    # not read.
    deferred = lead.get_deferred_fields()
    changed = [name for name, value in values.items() if name in deferred or getattr(lead, name) != value]
    for name in changed:
        setattr(lead, name, values[name])
    lead.updated = timezone.now()
    # event_count moves with every recorded event (_LeadWriter.record).
    # save(update_fields=...) on SQL compiled once: this runs for most lead messages.
    instance_update(lead, [*changed, "event_count", "updated"])


def lead_projection_matches(lead: Lead, state: LeadState) -> list[str]:
    """The fields where the stored lead differs from `state` (empty: identical)."""
    stored = {
        "status": lead.status, "answers": lead.answers or {}, "answers_version": lead.answers_version,
        "consent_granted": lead.consent_granted, "consent_policy": lead.consent_policy,
        "consent_at": lead.consent_at.isoformat() if lead.consent_at else None,
        "score": lead.score, "score_reasons": lead.score_reasons or [],
        "qualified_at": lead.qualified_at.isoformat() if lead.qualified_at else None,
    }
    replayed = state.as_dict()
    replayed.pop("step", None)
    return [key for key, value in replayed.items() if stored[key] != value]


def _parse_dt(value):
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if value else None


def lead_start(*, conversation: Conversation) -> Lead:
    flow = _flow(conversation)
    lead = Lead.objects.create(agency_id=conversation.agency_id, conversation=conversation)
    conversation.step = machine.next_step(flow, {}, settings=_settings(conversation))
    conversation.progress = 0.0
    conversation.save(update_fields=["step", "progress"])
    writer = _LeadWriter(lead)
    writer.record("step.changed", {"from": "", "to": conversation.step}, actor="system")
    writer.save()
    return lead


_FLOW_CACHE: dict = {}


def _flow(conversation: Conversation) -> dict:
    """The conversation's flow definition. Published versions never change, so
    they are cached per process by id: the hot message path skips the query."""
    version_id = conversation.flow_version_id
    if version_id is None:
        return load_default_flow()
    definition = _FLOW_CACHE.get(version_id)
    if definition is None:
        version = conversation.flow_version
        definition = version.definition
        if version.status != FlowVersion.Status.DRAFT:
            if len(_FLOW_CACHE) > 512:
                _FLOW_CACHE.clear()
            _FLOW_CACHE[version_id] = definition
    return definition


def _settings(conversation: Conversation) -> dict:
    agency = conversation.agency
    return {**agency.settings} if agency.settings else {}


def _lock_lead(conversation: Conversation) -> Lead:
    from chat.selectors import conversation_lead_cached

    if getattr(conversation, "lead_locked", False):
        # Read (and locked) with the conversation by the chat service's lock query.
        lead = conversation_lead_cached(conversation)
        if lead is not None:
            return lead
    return Lead.objects.select_for_update().select_related("conversation").get(conversation=conversation)


def _question(flow: dict, field_name: str) -> dict | None:
    return next((q for q in flow.get("questions", []) if q["field"] == field_name), None)


def _qualification_frame(conversation: Conversation, state: LeadState) -> dict:
    public = {k: v for k, v in state.answers.items()}
    return frame_append(
        conversation, type="qualification",
        build=lambda seq: F.qualification_frame(seq=seq, step=conversation.step, progress=conversation.progress,
                                                 answers=public),
    )


def _advance(conversation: Conversation, writer: _LeadWriter, flow: dict, settings: dict) -> str:
    """Move the conversation to the next step of the path; qualify at done."""
    answers = writer.state.answers
    if writer.state.status == "declined":
        nxt = "declined"
    else:
        nxt = machine.next_step(flow, answers, settings=settings)
    if nxt != conversation.step:
        writer.record("step.changed", {"from": conversation.step, "to": nxt}, actor="system")
        conversation.step = nxt
    conversation.progress = 1.0 if nxt == "done" else machine.progress(flow, answers, settings=settings)
    if nxt == "done" and writer.state.status != "qualified":
        _qualify(conversation, writer, settings)
    elif nxt == "declined":
        conversation.status = Conversation.Status.DECLINED
    return nxt


def _qualify(conversation: Conversation, writer: _LeadWriter, settings: dict) -> None:
    from qualification.scoring import score_lead

    weights = (conversation.agency.setting("scoring") or {})
    result = score_lead(writer.state.answers, weights=weights, settings=settings)
    writer.record("score.changed", {"score": result.score, "reasons": result.reasons}, actor="system")
    writer.record("lead.qualified", {}, actor="system")
    conversation.status = Conversation.Status.QUALIFIED
    if conversation.is_preview:
        # A staff member trying the flow: scored like a lead, but nobody is
        # written to, synced or notified about it.
        return
    # The webhook's deliveries are rows of this transaction (sent by tasks
    # queued on commit): qualified and announced together, or neither.
    _webhook_qualified(writer.lead.agency_id, {
        "lead": str(writer.lead.id), "conversation": str(conversation.id), "score": result.score,
        "sector": str(writer.state.answers.get("sector") or "") or None,
    })
    _queue_follow_ups(writer.lead.id, writer.lead.agency_id)


def _queue_follow_ups(lead_id, agency_id) -> None:
    """The strategy and the CRM sync of a (re)qualified lead, queued when the
    lead's answer commits (project.celery.enqueue_on_commit: a broker away is
    logged, and the beat's reconcile tasks finish the work)."""
    try:
        from strategy.tasks import strategy_queue
    except ImportError:  # the strategy pipeline is optional in a slim deployment
        pass
    else:
        enqueue_on_commit(strategy_queue, str(lead_id), str(agency_id))
    try:
        from integrations.services import crm_sync_request
    except ImportError:  # CRM sync is not installed in this build
        return
    crm_sync_request(lead_id=lead_id, agency_id=agency_id)


def _webhook_qualified(agency_id, data: dict) -> None:
    try:
        from integrations.services import webhook_emit
    except ImportError:  # webhooks are not installed in this build
        return
    webhook_emit(agency_id=agency_id, type="lead.qualified", data=data)


def _rescore_if_qualified(conversation: Conversation, writer: _LeadWriter, settings: dict) -> None:
    if writer.state.status == "qualified":
        from qualification.scoring import score_lead

        weights = conversation.agency.setting("scoring") or {}
        result = score_lead(writer.state.answers, weights=weights, settings=settings)
        if result.score != writer.state.score or result.reasons != writer.state.score_reasons:
            writer.record("score.changed", {"score": result.score, "reasons": result.reasons}, actor="system")
        if conversation.is_preview:
            return
        _queue_follow_ups(writer.lead.id, writer.lead.agency_id)


def _apply(conversation, writer: _LeadWriter, flow, settings, field_name: str, value, *, kind: str) -> None:
    """Record one answer and drop what left the path because of it."""
    transition = machine.apply_answer(flow, writer.state.answers, field_name, value, settings=settings)
    writer.record("answer.recorded", {"field": field_name, "value": value, "kind": kind,
                                      "old": transition.old})
    for dropped_field, old_value in (transition.dropped or {}).items():
        writer.record("answer.dropped", {"field": dropped_field, "value": old_value, "reason": "off_path"},
                      actor="system")


# --- The conversation turns ---------------------------------------------------------


def qualification_opening(*, conversation: Conversation) -> tuple[ReplyPlan, dict]:
    """The greeting and first question, with the first `qualification` frame.

    Precondition: the caller holds the conversation's row lock."""
    flow = _flow(conversation)
    lead = _lock_lead(conversation)
    writer = _LeadWriter(lead)
    frame = _qualification_frame(conversation, writer.state)
    question = _question(flow, conversation.step)
    plan = prompts.reply_plan(
        conversation=conversation, flow=flow, question=question, answers=writer.state.answers,
        preface=prompts.greeting(conversation), history=[],
    )
    return plan, frame


def _understand(conversation: Conversation, writer: _LeadWriter, flow: dict, settings: dict, text: str,
                hints: dict | None = None) -> tuple[str | None, str, bool]:
    """Read one lead message against the current step and record what it
    answers. Returns (reason to ask again, acknowledgement preface, handled);
    `handled` is False when the flow is finished and the text answered nothing."""
    locale = conversation.locale
    step = conversation.step
    answers = writer.state.answers
    correction = detect_correction(flow, text, answers)
    if step == "declined":
        # The lead may change their mind: only a consent answer is understood here.
        result = parse_answer(_question(flow, "consent") or {"type": "consent", "field": "consent"}, text, locale=locale)
        if result.ok and result.value is True:
            policy = conversation.agency.setting("privacy_policy") or {}
            _consent(conversation, writer, granted=True, policy=str(policy.get("version", "1")),
                     question=_question(flow, "consent"))
            conversation.status = Conversation.Status.OPEN
            return None, "", True
        return None, "", False
    if step == "done":
        if correction is not None and correction[1].ok and machine.can_store(correction[0], answers):
            _apply(conversation, writer, flow, settings, correction[0], correction[1].value, kind="correction")
            _advance(conversation, writer, flow, settings)
            _rescore_if_qualified(conversation, writer, settings)
            return None, prompts.correction_ack(correction[0], correction[1], locale), True
        return None, "", False
    if (correction is not None and correction[0] != step and correction[0] in answers and correction[1].ok
            and machine.can_store(correction[0], answers)):
        _apply(conversation, writer, flow, settings, correction[0], correction[1].value, kind="correction")
        return None, prompts.correction_ack(correction[0], correction[1], locale), True
    question = _question(flow, step)
    reason = None
    if question is not None and question["type"] == "consent":
        result = parse_answer(question, text, locale=locale)
        if not result.ok:
            return result.reason, "", True
        policy = conversation.agency.setting("privacy_policy") or {}
        _consent(conversation, writer, granted=bool(result.value), policy=str(policy.get("version", "1")), question=question)
        return None, "", True
    results = extract_fields(flow, text, expected_field=step, answered=answers)
    for field_name, fragment in (hints or {}).items():
        # The LLM found where the answer is; the rules decide what it is.
        question_for = _question(flow, field_name)
        if question_for is None or (field_name != step and field_name in answers):
            continue
        checked = parse_answer(question_for, fragment, locale=locale)
        # The LLM quotes the message; anything not in it was made up.
        quoted = " ".join(fold(fragment).split()) in " ".join(fold(text).split())
        if checked.ok and quoted:
            results[field_name] = checked
    expected = results.get(step)
    if expected is not None and not expected.ok:
        reason = expected.reason
    for field_name, result in _ordered(results, step):
        if not result.ok or not machine.can_store(field_name, writer.state.answers):
            continue
        if field_name != step and field_name in writer.state.answers:
            continue
        _apply(conversation, writer, flow, settings, field_name, result.value, kind="answer")
    if expected is None and reason is None and step not in writer.state.answers:
        reason = prompts.unclear_reason(question, locale)
    return reason, "", True


def _policy_version(conversation: Conversation) -> str:
    return str((conversation.agency.setting("privacy_policy") or {}).get("version", "1"))


def _renew_consent_if_outdated(conversation: Conversation, writer: _LeadWriter, flow: dict, settings: dict) -> bool:
    """A lead who consented to an older privacy policy than the agency's
    current one is asked again: consent is cleared (the other answers stay)
    and the flow goes back to the consent question. True when it did."""
    current = _policy_version(conversation)
    if not writer.state.consent_granted or writer.state.consent_policy == current:
        return False
    if not any(q["type"] == "consent" for q in flow.get("questions", [])):
        return False
    writer.record("consent.renewal_required", {"policy_from": writer.state.consent_policy, "policy_to": current},
                  actor="system")
    conversation.consent_granted = False
    _advance(conversation, writer, flow, settings)
    return True


def qualification_policy_refresh(*, conversation_id, agency_id) -> Effects | None:
    """When a lead comes back (a resumed widget session), ask for consent
    again if the agency's privacy-policy version changed since they gave it.
    Returns the effects to publish after commit, or None when nothing changed."""
    from tenancy.models import Agency

    current = str((Agency.objects.get(id=agency_id).setting("privacy_policy") or {}).get("version", "1"))
    with scope(agency=agency_id):
        # The common case (nothing to renew) takes no lock.
        if not Lead.objects.filter(conversation_id=conversation_id, consent_granted=True).exclude(
                consent_policy=current).exists():
            return None
    with transaction.atomic(), scope(agency=agency_id):
        conversation = Conversation.objects.select_for_update().select_related("agency", "flow_version").get(
            id=conversation_id
        )
        lead = Lead.objects.select_for_update().select_related("conversation").filter(conversation=conversation).first()
        if lead is None:
            return None
        writer = _LeadWriter(lead)
        flow, settings = _flow(conversation), _settings(conversation)
        if not _renew_consent_if_outdated(conversation, writer, flow, settings):
            return None
        writer.save()
        frames = [_qualification_frame(conversation, writer.state)]
        conversation_touch(conversation)
        from chat.services import _summary

        return Effects(conversation.id, conversation.agency_id, frames=frames, summary=_summary(conversation))


def qualification_on_lead_message(*, conversation: Conversation, turn: Turn, hints: dict | None = None,
                                  with_history: bool = True) -> Outcome:
    """Understand a lead message against the current step and advance.

    `hints` are the LLM's proposed answers (qualification.extraction), checked
    here by the rule-based parsers. `with_history=False` leaves the recent
    turns out of the reply's prompt (for a provider that does not read it).

    Precondition: the caller holds the conversation's row lock and the bot owns
    the conversation."""
    flow, settings = _flow(conversation), _settings(conversation)
    writer = _LeadWriter(_lock_lead(conversation))
    if _renew_consent_if_outdated(conversation, writer, flow, settings):
        # The message is read against the consent question it now stands at.
        hints = None
    reason, preface, handled = _understand(conversation, writer, flow, settings, turn.text, hints)
    if not handled:
        writer.flush()
        return Outcome(frames=[], reply=prompts.closing_plan(conversation, flow, writer.state.answers, turn.text),
                       lead=writer.lead)
    _advance(conversation, writer, flow, settings)
    writer.save()
    frames = [_qualification_frame(conversation, writer.state)]
    reply = prompts.reply_plan(
        conversation=conversation, flow=flow, question=_question(flow, conversation.step),
        answers=writer.state.answers, reason=reason, preface=preface,
        history=prompts.recent_history(conversation) if with_history else [], last_message=turn.text,
    )
    return Outcome(frames=frames, reply=reply, lead=writer.lead)


def _ordered(results: dict, step: str):
    if step in results:
        yield step, results[step]
    for key, value in results.items():
        if key != step:
            yield key, value


def _consent(conversation, writer: _LeadWriter, *, granted: bool, policy: str, question: dict | None) -> None:
    agency_policy = conversation.agency.setting("privacy_policy") or {}
    shown = prompts.consent_text(conversation, question)
    instances_insert([ConsentRecord(
        agency_id=conversation.agency_id, conversation=conversation, granted=granted, policy_version=policy,
        policy_url=str(agency_policy.get("url", ""))[:500], text=shown,
    )])
    if granted:
        writer.record("consent.granted", {"policy": policy})
        conversation.consent_granted = True
    else:
        writer.record("consent.declined", {"policy": policy})
        conversation.consent_granted = False


def qualification_consent(*, visitor: VisitorActor, granted: bool, policy: str) -> Effects:
    """The widget's consent buttons (CONTRACT §3.1 `consent`)."""
    from chat.selectors import access_conversation

    with transaction.atomic(), scope(agency=visitor.agency_id):
        conversation = access_conversation(visitor, visitor.conversation_id, lock=True)
        flow, settings = _flow(conversation), _settings(conversation)
        lead = _lock_lead(conversation)
        writer = _LeadWriter(lead)
        if granted == writer.state.consent_granted and writer.state.consent_policy == policy:
            return Effects(conversation.id, conversation.agency_id, duplicate=True)
        if not granted and writer.state.consent_granted:
            writer.record("consent.withdrawn", {"policy": policy})
            ConsentRecord.objects.create(agency_id=conversation.agency_id, conversation=conversation, granted=False,
                                         policy_version=policy, text=prompts.consent_text(conversation, None))
            conversation.consent_granted = False
        else:
            _consent(conversation, writer, granted=granted, policy=policy, question=_question(flow, "consent"))
            if granted and conversation.status == Conversation.Status.DECLINED:
                conversation.status = Conversation.Status.OPEN
        _advance(conversation, writer, flow, settings)
        writer.save()
        frames = [_qualification_frame(conversation, writer.state)]
        reply = None
        if conversation.owner_kind == Conversation.Owner.BOT:
            reply = prompts.reply_plan(conversation=conversation, flow=flow, question=_question(flow, conversation.step),
                                       answers=writer.state.answers, history=prompts.recent_history(conversation))
        conversation_touch(conversation)
        from chat.services import _summary

        return Effects(conversation.id, conversation.agency_id, frames=frames, reply=reply, summary=_summary(conversation))


def qualification_edit(*, visitor: VisitorActor, field: str) -> Effects:
    """The lead wants to change an earlier answer: back to that question."""
    from chat.selectors import access_conversation

    with transaction.atomic(), scope(agency=visitor.agency_id):
        conversation = access_conversation(visitor, visitor.conversation_id, lock=True)
        flow, settings = _flow(conversation), _settings(conversation)
        question = _question(flow, field)
        if question is None or question["type"] == "consent":
            raise ApplicationError(f"No hay ninguna pregunta '{field}' que cambiar.", code="bad_frame")
        lead = _lock_lead(conversation)
        writer = _LeadWriter(lead)
        if writer.state.status == "declined":
            raise ApplicationError("Sin tu consentimiento no guardo respuestas.", code="consent_required")
        if field not in machine.path_for(flow, writer.state.answers, settings=settings):
            raise ApplicationError(f"La pregunta '{field}' no está en tu recorrido.", code="bad_frame")
        writer.record("edit.requested", {"field": field})
        if field in writer.state.answers:
            writer.record("answer.cleared", {"field": field, "value": writer.state.answers[field]})
        if writer.state.status == "qualified":
            writer.record("lead.reopened", {}, actor="system")
            conversation.status = Conversation.Status.OPEN
        if conversation.step != field:
            writer.record("step.changed", {"from": conversation.step, "to": field}, actor="system")
            conversation.step = field
        conversation.progress = machine.progress(flow, writer.state.answers, settings=settings)
        writer.save()
        frames = [_qualification_frame(conversation, writer.state)]
        reply = None
        if conversation.owner_kind == Conversation.Owner.BOT:
            reply = prompts.reply_plan(conversation=conversation, flow=flow, question=question,
                                       answers=writer.state.answers, preface=prompts.edit_ack(question, conversation.locale),
                                       history=prompts.recent_history(conversation))
        conversation_touch(conversation)
        from chat.services import _summary

        return Effects(conversation.id, conversation.agency_id, frames=frames, reply=reply, summary=_summary(conversation))


def qualification_resume(*, conversation: Conversation) -> Outcome:
    """After a staff release: read what the lead said meanwhile against the
    current step, then continue the flow from there.

    Precondition: the caller holds the conversation's row lock."""
    flow, settings = _flow(conversation), _settings(conversation)
    lead = _lock_lead(conversation)
    writer = _LeadWriter(lead)
    last_handoff = (
        conversation.events.filter(type="handoff").order_by("-seq").values_list("seq", flat=True)[1:2].first()
        or 0
    )
    meanwhile = list(
        Turn.objects.filter(conversation=conversation, role=Turn.Role.LEAD, seq__gt=last_handoff).order_by("seq")
    )
    for turn in meanwhile:
        if conversation.step in ("done", "declined"):
            break
        _understand(conversation, writer, flow, settings, turn.text)
        _advance(conversation, writer, flow, settings)
    writer.save()
    frames = [_qualification_frame(conversation, writer.state)]
    reply = prompts.reply_plan(
        conversation=conversation, flow=flow, question=_question(flow, conversation.step),
        answers=writer.state.answers, preface=prompts.resume_preface(conversation.locale),
        history=prompts.recent_history(conversation),
    )
    return Outcome(frames=frames, reply=reply)


def qualification_context(*, visitor: VisitorActor) -> dict | None:
    """What LLM extraction needs to know before a message is stored: the flow,
    the current step and what is answered. None when the bot does not own it."""
    from chat.selectors import access_conversation, conversation_lead_cached
    from project.db.prepared import cached_relations_drop

    with scope(agency=visitor.agency_id):
        # Only what is returned: this read runs before every message a real LLM answers.
        conversation = access_conversation(visitor, visitor.conversation_id, with_lead=True, only=(
            "agency_id", "visitor_id", "owner_kind", "step", "flow_version_id", "lead__answers", "lead__consent_granted",
            "lead__conversation_id"))
        try:
            if conversation.owner_kind != Conversation.Owner.BOT:
                return None
            lead = conversation_lead_cached(conversation)
            return {"flow": _flow(conversation), "step": conversation.step,
                    "answered": dict(lead.answers or {}) if lead else {},
                    "consent_granted": bool(lead and lead.consent_granted)}
        finally:
            cached_relations_drop(conversation)


# --- Flow versions ---------------------------------------------------------------


def _flow_errors_or_raise(definition: dict) -> None:
    from qualification.flows import validate_flow

    errors = validate_flow(definition)
    if errors:
        raise ApplicationError(
            f"El flujo no es válido: {errors[0].message}", code="validation_error",
            fields={e.path or "definition": [e.message] for e in errors},
        )


def flow_draft_save(*, actor, definition: dict, version_id=None) -> FlowVersion:
    """Create or update the agency's draft of its default flow.

    Precondition: `actor` is admin+. A published version is never changed:
    saving over one is refused (conversations started on it rely on it)."""
    from project.api.errors import Conflict, Forbidden

    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede editar el flujo.")
    _flow_errors_or_raise(definition)
    with transaction.atomic(), scope(agency=actor.agency_id):
        flow = Flow.objects.select_for_update().get(is_default=True)
        if version_id is not None:
            version = FlowVersion.objects.filter(id=version_id, flow=flow).first()
            if version is None:
                from project.api.errors import NotFound

                raise NotFound()
            if version.status != FlowVersion.Status.DRAFT:
                raise Conflict("Una versión publicada no se puede modificar: guarda un borrador nuevo.",
                               code="version_immutable")
            version.definition = definition
            version.save(update_fields=["definition"])
            return version
        number = (flow.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        return FlowVersion.objects.create(agency_id=actor.agency_id, flow=flow, number=number, definition=definition,
                                          created_by_id=actor.user_id)


def flow_version_publish(*, actor, version_id) -> FlowVersion:
    """Publish a draft: new conversations use it; running ones keep theirs."""
    from project.api.errors import Forbidden, NotFound

    if not actor.has_role("admin"):
        raise Forbidden("Solo un administrador puede publicar el flujo.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        version = FlowVersion.objects.select_for_update().filter(id=version_id).first()
        if version is None:
            raise NotFound()
        if version.status == FlowVersion.Status.PUBLISHED:
            return version
        _flow_errors_or_raise(version.definition)
        version.status = FlowVersion.Status.PUBLISHED
        version.published_at = timezone.now()
        version.published_by_id = actor.user_id
        version.save(update_fields=["status", "published_at", "published_by"])
        from tenancy.audit import audit_record

        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="flow.publish",
                     target=str(version.id), data={"number": version.number})
        return version


# --- RGPD: erasure and retention ---------------------------------------------------

REDACTED = "[eliminado]"


def _redact_frame(payload: dict) -> dict:
    from qualification.projection import ANONYMOUS_ANSWERS

    redacted = dict(payload)
    if "text" in redacted:
        redacted["text"] = REDACTED
    if isinstance(redacted.get("answers"), dict):
        redacted["answers"] = {k: v for k, v in redacted["answers"].items() if k in ANONYMOUS_ANSWERS}
    return redacted


def _redact_event_data(data: dict) -> dict:
    from qualification.projection import ANONYMOUS_ANSWERS

    if data.get("field") in ANONYMOUS_ANSWERS or "field" not in data:
        return data
    return {**data, **{k: REDACTED for k in ("value", "old") if data.get(k) is not None}}


def _erase_in_place(lead: Lead, *, actor_label: str) -> dict:
    """Remove every personal datum of a lead and its conversation, keeping an
    anonymous statistical record. Idempotent. Precondition: inside a
    transaction and the agency's scope, the lead row locked."""
    from chat.models import Conversation, ConversationEvent, Note, Turn
    from qualification.projection import ANONYMOUS_ANSWERS

    conversation = Conversation.objects.select_for_update().get(id=lead.conversation_id)
    Turn.objects.filter(conversation=conversation).update(text=REDACTED, search_tokens="")
    for event in ConversationEvent.objects.filter(conversation=conversation):
        event.payload = _redact_frame(event.payload or {})
        event.save(update_fields=["payload"])
    Note.objects.filter(conversation=conversation).update(text=REDACTED)
    try:
        from strategy.services import strategy_erase_for_lead
    except ImportError:  # the strategy pipeline is not installed in this build
        pass
    else:
        strategy_erase_for_lead(lead=lead)
    # LeadEvents are append-only for the application; erasure is the one
    # sanctioned rewrite, done through a plain queryset on purpose.
    plain = models.QuerySet(LeadEvent).filter(lead=lead)
    for event in plain:
        redacted = _redact_event_data(event.data or {})
        if redacted != event.data:
            models.QuerySet(LeadEvent).filter(pk=event.pk).update(data=redacted)
    kept = {k: v for k, v in (lead.answers or {}).items() if k in ANONYMOUS_ANSWERS}
    writer = _LeadWriter(lead)
    if lead.status != Lead.Status.ERASED:
        writer.record("lead.erased", {"kept": kept}, actor=actor_label)
    writer.save()
    lead.erased_at = lead.erased_at or timezone.now()
    lead.save(update_fields=["erased_at"])
    conversation.last_message_preview = ""
    conversation.page_url = ""
    conversation.status = Conversation.Status.CLOSED
    conversation.save(update_fields=["last_message_preview", "page_url", "status"])
    return kept


def lead_erase(*, actor, lead_id) -> None:
    """RGPD erasure on request (owner only): personal data removed everywhere
    we hold it, the CRM contact deleted (with a tombstone), `lead.erased`
    announced, and the erasure logged outside the database for replays."""
    from project.api.errors import Forbidden
    from qualification.selectors import access_lead

    if not actor.has_role("owner"):
        raise Forbidden("Solo la propiedad de la agencia puede borrar datos.")
    with transaction.atomic(), scope(agency=actor.agency_id):
        lead = access_lead(actor, lead_id, lock=True)
        _erase_in_place(lead, actor_label=f"staff:{actor.user_id}")
        erasure = Erasure.objects.create(agency_id=actor.agency_id, lead_id=lead.id,
                                         conversation_id=lead.conversation_id, requested_by=actor.user_id)
        from tenancy.audit import audit_record

        audit_record(agency_id=actor.agency_id, actor_user_id=actor.user_id, action="lead.erase", target=str(lead.id))
        transaction.on_commit(lambda: _erasure_log_append(erasure))
        transaction.on_commit(_erasure_hooks(lead.id, actor.agency_id))


def _erasure_log_append(erasure: Erasure) -> None:
    import json as _json
    from pathlib import Path

    from django.conf import settings as dj_settings

    path = Path(dj_settings.ERASURE_LOG_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(_json.dumps({"agency": str(erasure.agency_id), "lead": str(erasure.lead_id),
                                  "conversation": str(erasure.conversation_id), "at": erasure.created.isoformat()}) + "\n")


def _erasure_hooks(lead_id, agency_id):
    def run() -> None:
        try:
            from integrations.services import crm_erase_request, webhook_emit
        except ImportError:  # CRM sync and webhooks are not installed in this build
            return
        crm_erase_request(lead_id=lead_id, agency_id=agency_id)
        webhook_emit(agency_id=agency_id, type="lead.erased", data={"lead": str(lead_id)})

    return run


def erasures_replay() -> int:
    """Apply every logged erasure again (after a restore). Idempotent; returns
    how many leads still held personal data."""
    import json as _json
    from pathlib import Path

    from django.conf import settings as dj_settings

    path = Path(dj_settings.ERASURE_LOG_PATH)
    if not path.exists():
        return 0
    reapplied = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = _json.loads(line)
        with transaction.atomic(), scope(agency=entry["agency"]):
            lead = Lead.objects.select_for_update().filter(id=entry["lead"]).first()
            if lead is None:
                continue
            if lead.status != Lead.Status.ERASED or lead.name or lead.email:
                reapplied += 1
            _erase_in_place(lead, actor_label="system:replay")
            if not Erasure.objects.filter(lead_id=lead.id).exists():
                Erasure.objects.create(agency_id=lead.agency_id, lead_id=lead.id, conversation_id=lead.conversation_id,
                                       reason="replay")
    return reapplied


PREVIEW_RETENTION = timedelta(days=1)


def retention_run(*, now=None) -> dict:
    """Per agency: delete conversations that never granted consent after N
    days, and flow previews (staff trying a version) after a day; anonymise
    qualified leads after M months. Idempotent: a second run finds nothing
    to do."""
    from datetime import timedelta

    from django_scopes import scopes_disabled

    from chat.models import Conversation
    from tenancy.models import Agency

    now = now or timezone.now()
    deleted = anonymised = 0
    with scopes_disabled():
        agencies = list(Agency.objects.all())
    for agency in agencies:
        retention = agency.setting("retention") or {}
        days = int(retention.get("unconsented_days", 30))
        months = int(retention.get("qualified_months", 24))
        with transaction.atomic(), scope(agency=agency.id):
            stale = Conversation.objects.filter(consent_granted=False, updated__lt=now - timedelta(days=days)) \
                .exclude(lead__status=Lead.Status.ERASED)
            count = stale.count()
            stale.delete()
            deleted += count
            previews = Conversation.objects.filter(is_preview=True, updated__lt=now - PREVIEW_RETENTION)
            count = previews.count()
            previews.delete()
            deleted += count
        with scope(agency=agency.id):
            old = list(Lead.objects.filter(status=Lead.Status.QUALIFIED,
                                           qualified_at__lt=now - timedelta(days=30 * months)).values_list("id", flat=True))
        for lead_id in old:
            with transaction.atomic(), scope(agency=agency.id):
                lead = Lead.objects.select_for_update().get(id=lead_id)
                if lead.status == Lead.Status.QUALIFIED:
                    _erase_in_place(lead, actor_label="system:retention")
                    anonymised += 1
    return {"deleted_conversations": deleted, "anonymised_leads": anonymised}
