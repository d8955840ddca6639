"""The lead's state as a fold over its events.

The live service and `rebuild_leads` both go through `apply_event`, so the
stored lead is by construction what its event log says. Keep this pure: no
database, no clock (times come from the events).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PERSONAL_COLUMNS = ("name", "email", "phone", "company")
# Answers that say nothing about who the lead is: kept after erasure for statistics.
ANONYMOUS_ANSWERS = ("consent", "sector", "platform", "goals", "channels", "budget_monthly", "timeline")


@dataclass
class LeadState:
    status: str = "collecting"
    step: str = ""
    answers: dict = field(default_factory=dict)
    answers_version: int = 0
    consent_granted: bool = False
    consent_policy: str = ""
    consent_at: str | None = None
    score: int | None = None
    score_reasons: list = field(default_factory=list)
    qualified_at: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def apply_event(state: LeadState, type: str, data: dict, created: str) -> LeadState:
    if type == "answer.recorded":
        state.answers[data["field"]] = data["value"]
        state.answers_version += 1
    elif type == "answer.dropped" or type == "answer.cleared":
        if state.answers.pop(data["field"], None) is not None or type == "answer.cleared":
            state.answers_version += 1
    elif type == "step.changed":
        state.step = data["to"]
    elif type == "consent.granted":
        if state.status == "declined":
            state.status = "collecting"
        state.consent_granted = True
        state.consent_policy = data.get("policy", "")
        state.consent_at = created
        state.answers["consent"] = True
    elif type == "consent.declined":
        state.consent_granted = False
        state.consent_policy = data.get("policy", "")
        state.status = "declined"
        state.answers = {"consent": False}
        state.answers_version += 1
    elif type == "consent.withdrawn":
        # Without consent no personal data stays on the lead: as a decline.
        state.consent_granted = False
        state.consent_at = None
        state.status = "declined"
        state.answers = {"consent": False}
        state.answers_version += 1
    elif type == "consent.renewal_required":
        # The agency published a new privacy policy: consent is asked again
        # before anything else is stored; the answers given so far stay.
        state.consent_granted = False
        state.consent_at = None
        if state.answers.pop("consent", None) is not None:
            state.answers_version += 1
    elif type == "score.changed":
        state.score = data["score"]
        state.score_reasons = data["reasons"]
    elif type == "lead.qualified":
        state.status = "qualified"
        state.qualified_at = created
    elif type == "lead.reopened":
        state.status = "collecting"
    elif type == "lead.erased":
        # Only the anonymous answers stay, for statistics.
        state.status = "erased"
        state.answers = dict(data.get("kept", {}))
        state.answers_version += 1
    return state


def fold(events) -> LeadState:
    """`events` are (type, data, created_iso) in seq order."""
    state = LeadState()
    for type, data, created in events:
        apply_event(state, type, data, created)
    return state
