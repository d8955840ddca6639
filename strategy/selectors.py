"""Reads of strategies, always within an agency."""

from __future__ import annotations

from django_scopes import scope

from project.api.errors import NotFound
from strategy.links import strategy_pdf_url
from strategy.models import Strategy
from tenancy.actors import StaffActor


def access_strategy(actor: StaffActor, strategy_id) -> Strategy:
    """The strategy if it is the actor's agency's; NotFound alike for missing and foreign."""
    from chat.selectors import _uuid

    strategy_id = _uuid(strategy_id)
    with scope(agency=actor.agency_id):
        strategy = (Strategy.objects.select_related("lead", "lead__conversation")
                    .filter(id=strategy_id).first())
    if strategy is None:
        raise NotFound()
    return strategy


def strategy_by_id(*, agency_id, strategy_id) -> Strategy | None:
    """For a signed link: the token already named the agency."""
    with scope(agency=agency_id):
        return Strategy.objects.filter(id=strategy_id).first()


def strategy_pdf_link(strategy: Strategy) -> str | None:
    if strategy.status != Strategy.Status.READY or not strategy.pdf_name:
        return None
    return strategy_pdf_url(strategy_id=strategy.id, agency_id=strategy.agency_id,
                            server_base=strategy.lead.conversation.server_base)


def strategy_latest_for_lead(*, agency_id, lead_id) -> Strategy | None:
    """The strategy of the lead's newest answers version that was not superseded."""
    with scope(agency=agency_id):
        return (Strategy.objects.select_related("lead", "lead__conversation")
                .filter(lead_id=lead_id).exclude(error="superseded").order_by("-answers_version").first())


def strategy_brief(strategy: Strategy | None) -> dict | None:
    """What a lead's detail and the console show of its strategy."""
    if strategy is None:
        return None
    return {"id": str(strategy.id), "status": strategy.status, "writer": strategy.writer or None,
            "pdf_url": strategy_pdf_link(strategy),
            "ready_at": strategy.ready_at.isoformat() if strategy.ready_at else None,
            "emailed_at": strategy.lead_emailed_at.isoformat() if strategy.lead_emailed_at else None}


def strategy_crm_note(*, agency_id, lead_id) -> dict | None:
    """The summary and link the CRM note carries, once a strategy is ready."""
    strategy = strategy_latest_for_lead(agency_id=agency_id, lead_id=lead_id)
    if strategy is None or strategy.status != Strategy.Status.READY:
        return None
    return {"summary": strategy.summary, "pdf_url": strategy_pdf_link(strategy)}


def strategy_history_for_lead(lead) -> list[dict]:
    """Strategy metadata for the lead's RGPD export (no other lead's)."""
    with scope(agency=lead.agency_id):
        rows = list(Strategy.objects.filter(lead=lead).order_by("answers_version"))
    return [{"id": str(s.id), "answers_version": s.answers_version, "status": s.status, "writer": s.writer,
             "template_version": s.template_version, "summary": s.summary,
             "created": s.created.isoformat(), "ready_at": s.ready_at.isoformat() if s.ready_at else None,
             "emailed_at": s.lead_emailed_at.isoformat() if s.lead_emailed_at else None} for s in rows]


def strategy_reconcile_candidates(*, settled_before, stalled_before, limit: int) -> dict[str, list[tuple]]:
    """Work of the strategy pipeline that a lost enqueue (the broker away at
    the moment of a commit) or a lost worker left undone, across agencies
    (the beat's reconcile task is no tenant's request):

    - `missing`: qualified, consenting leads, settled since `settled_before`,
      with no strategy for their current answers;
    - `waiting`: strategies still queued since `settled_before`;
    - `stalled`: strategies generating since `stalled_before`.
    Each a list of (id, agency_id), at most `limit`."""
    from django.db.models import Exists, OuterRef
    from django_scopes import scopes_disabled

    from qualification.models import Lead
    from strategy.models import Strategy

    with scopes_disabled():
        has_strategy = Strategy.objects.filter(lead=OuterRef("pk"), answers_version=OuterRef("answers_version"))
        missing = (Lead.objects.filter(status=Lead.Status.QUALIFIED, consent_granted=True, erased_at__isnull=True,
                                       updated__lt=settled_before)
                   .exclude(Exists(has_strategy)).values_list("id", "agency_id")[:limit])
        waiting = (Strategy.objects.filter(status=Strategy.Status.QUEUED, updated__lt=settled_before)
                   .values_list("id", "agency_id")[:limit])
        stalled = (Strategy.objects.filter(status=Strategy.Status.GENERATING, generation_started_at__lt=stalled_before)
                   .values_list("id", "agency_id")[:limit])
        return {"missing": list(missing), "waiting": list(waiting), "stalled": list(stalled)}
